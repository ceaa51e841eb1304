// The app's shared state, one of each per page load.

import { AppConfig } from './config.svelte';
import { Library } from './library.svelte';
import { LIBRARY_KEY } from './library.svelte';
import { Router } from './router.svelte';
import { defaultUploader } from './upload/choose-uploader';
import { UploadManager, warnBeforeLeaving } from './upload/upload-manager.svelte';
import { ResumeStore } from './watch/resume';

export const library = new Library();
export const appConfig = new AppConfig();
export const router = new Router();
/** The running upload: it goes on while the uploader moves around the app. */
export const uploads = new UploadManager({ uploader: defaultUploader(), library });
/** How far this browser watched each video (the player resumes there). */
export const resumePoints = new ResumeStore();

// Closing or reloading the page would stop the upload: the browser asks first.
warnBeforeLeaving(uploads);

// Another tab uploaded or deleted something.
window.addEventListener('storage', (e) => {
  if (e.key === null || e.key === LIBRARY_KEY) library.reload();
});

export function setTitle(page: string | null): void {
  document.title = page ? `${page} · Flick` : 'Flick';
}

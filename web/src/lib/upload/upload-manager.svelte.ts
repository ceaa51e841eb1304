// The running upload, one for the whole app (`uploads` in app.ts): it outlives the page that started
// it, so the uploader can go to the share page (or anywhere in the app) while the bytes keep flowing.
//
// - Validation against `/api/config`, progress, speed, time left, cancel, retry.
// - A resumable (tus) upload exists on the server from its first answer: the video is put in "My
//   videos" with its manage token at once (a reload keeps the key) and `onReady` fires, so the page can
//   open the share page while the upload continues. A multipart upload (no tus) is ready at its end.
// - A failure after that moment is kept with the video's id, for the share page to show.

import { ABANDONED_MESSAGE, ApiError, NetworkError, UPLOAD_ABANDONED } from '../api';
import { toPercent } from '../format';
import type { Library } from '../library.svelte';
import { ProgressMeter } from './progress-meter';
import type { RetryReason, UploadHandle, Uploader } from './uploader';
import { extensionOf, validateFile, type Limits } from './validate';

export type UploadPhase = 'idle' | 'invalid' | 'uploading' | 'finishing' | 'done' | 'failed' | 'cancelled';

/** After a cancel: whether the server let go of what it had received. */
export type CleanupState = 'none' | 'pending' | 'done' | 'failed';

export type UploadLimits = Limits & { maxIndexBytes?: number | null };

export interface StartHooks {
  /**
   * The video can be shared and watched: when the server created it (resumable uploads, while the
   * bytes still flow), else when the upload is complete. At most once per start.
   */
  onReady?(id: string, shareUrl: string): void;
}

export interface UploadManagerDeps {
  uploader: Uploader;
  library: Pick<Library, 'add' | 'get' | 'remove'>;
  /** Monotonic milliseconds, for the speed. */
  now?: () => number;
  /** Wall-clock time, for the library's dates. */
  date?: () => Date;
}

/** A file name without its extension: the video's first title. */
export function titleOf(name: string): string {
  const ext = extensionOf(name);
  return ext ? name.slice(0, -(ext.length + 1)) : name;
}

export class UploadManager {
  #phase = $state<UploadPhase>('idle');
  #fileName = $state('');
  #fileSize = $state(0);
  #loaded = $state(0);
  #speed = $state<number | null>(null);
  #secondsLeft = $state<number | null>(null);
  #message = $state('');
  #videoId = $state<string | null>(null);
  #shareUrl = $state<string | null>(null);
  #cleanup = $state<CleanupState>('none');
  #retryable = $state(false);
  #retrying = $state<RetryReason | null>(null);
  /** Ids whose link was revoked while this page knew them → the video's new id. */
  readonly #renamed = new Map<string, string>();

  #handle: UploadHandle | null = null;
  #meter = new ProgressMeter();
  #file: File | null = null;
  #limits: UploadLimits | null = null;
  /** Bumped at every start: callbacks of an older start are ignored. */
  #run = 0;

  readonly #uploader: Uploader;
  readonly #library: UploadManagerDeps['library'];
  readonly #now: () => number;
  readonly #date: () => Date;

  constructor(deps: UploadManagerDeps) {
    this.#uploader = deps.uploader;
    this.#library = deps.library;
    this.#now = deps.now ?? (() => performance.now());
    this.#date = deps.date ?? (() => new Date());
  }

  get phase(): UploadPhase {
    return this.#phase;
  }
  get fileName(): string {
    return this.#fileName;
  }
  get fileSize(): number {
    return this.#fileSize;
  }
  /** Bytes sent so far (what the server acknowledged, after a resume). */
  get loaded(): number {
    return this.#loaded;
  }
  get percent(): number {
    return this.#fileSize > 0 ? toPercent(this.#loaded / this.#fileSize) : 0;
  }
  /** Bytes per second, or null while unknown. */
  get speed(): number | null {
    return this.#speed;
  }
  get secondsLeft(): number | null {
    return this.#secondsLeft;
  }
  /** What went wrong (`invalid`, `failed`), or what happened (`cancelled`), for a person. */
  get message(): string {
    return this.#message;
  }
  /** The video's id, once the server has it. */
  get videoId(): string | null {
    return this.#videoId;
  }
  get shareUrl(): string | null {
    return this.#shareUrl;
  }
  get cleanup(): CleanupState {
    return this.#cleanup;
  }
  /**
   * The upload lost the server for now and tries again by itself: `network` (no answer: offline, the
   * server down) or `server` (a passing refusal). Null while bytes flow.
   */
  get retrying(): RetryReason | null {
    return this.#retrying;
  }
  /** Bytes are on their way (or the last answer is awaited). */
  get busy(): boolean {
    return this.#phase === 'uploading' || this.#phase === 'finishing';
  }
  /** The failure may go away by trying again with the same file (a connection problem, a server error). */
  get canRetry(): boolean {
    return this.#phase === 'failed' && this.#retryable && this.#file !== null;
  }

  #currentIdOf(id: string): string {
    const seen = new Set<string>();
    while (this.#renamed.has(id) && !seen.has(id)) {
      seen.add(id);
      id = this.#renamed.get(id)!;
    }
    return id;
  }

  /** This browser is uploading the video `id` right now. */
  isUploading(id: string): boolean {
    return this.busy && this.#videoId === id;
  }

  /** The current (or last) upload is the video `id`. */
  isFor(id: string): boolean {
    return this.#videoId === id;
  }

  /** The video's link was revoked: its upload goes on as the video `newId`. */
  changeVideoId(oldId: string, newId: string): void {
    if (oldId === newId) return;
    this.#renamed.set(oldId, newId);
    if (this.#videoId !== oldId) return;
    this.#videoId = newId;
    if (this.#shareUrl) this.#shareUrl = `/v/${encodeURIComponent(newId)}`;
  }

  /**
   * Checks the file, then sends it. Returns false (and says why in `message`) when it is refused
   * before a byte is sent, or when another upload is running.
   */
  start(file: File, limits: UploadLimits | null, hooks: StartHooks = {}): boolean {
    if (this.busy) return false;
    const run = ++this.#run;
    this.#file = null;
    this.#limits = limits;
    this.#fileName = file.name;
    this.#fileSize = file.size;
    this.#loaded = 0;
    this.#speed = null;
    this.#secondsLeft = null;
    this.#message = '';
    this.#videoId = null;
    this.#shareUrl = null;
    this.#cleanup = 'none';
    this.#retryable = false;
    this.#retrying = null;
    const problem = validateFile(file, limits);
    if (problem) {
      this.#phase = 'invalid';
      this.#message = problem.message;
      return false;
    }
    this.#file = file;
    this.#meter.reset();
    this.#meter.sample(0, this.#now());
    this.#phase = 'uploading';

    let ready = false;
    const becomeReady = (reportedId: string, manageToken: string, reportedUrl: string) => {
      // An answer may still name the link the owner has revoked meanwhile: the video is the same.
      const id = this.#currentIdOf(reportedId);
      const shareUrl = id === reportedId ? reportedUrl : `/v/${encodeURIComponent(id)}`;
      this.#videoId = id;
      this.#shareUrl = shareUrl;
      if (!this.#library.get(id)) {
        this.#library.add({ id, manageToken, title: titleOf(file.name), createdAt: this.#date().toISOString() });
      }
      if (ready) return;
      ready = true;
      hooks.onReady?.(id, shareUrl);
    };
    // Callbacks of an earlier start, or after the end (a cancel), change nothing.
    const current = () => run === this.#run && this.busy;

    this.#handle = this.#uploader.start(
      file,
      {
        onProgress: (loaded, total) => {
          if (!current()) return;
          if (loaded > this.#loaded) this.#retrying = null;
          if (total > 0 && total !== this.#fileSize) this.#fileSize = total;
          this.#loaded = Math.min(loaded, this.#fileSize);
          this.#meter.sample(loaded, this.#now());
          this.#speed = this.#meter.bytesPerSecond;
          this.#secondsLeft = this.#meter.secondsLeft(this.#fileSize);
          // Every byte is out: the server is storing the last chunk before it answers.
          if (this.#fileSize > 0 && loaded >= this.#fileSize) this.#phase = 'finishing';
        },
        onRestart: (loaded, total) => {
          if (!current()) return;
          // A resume: the server has `loaded` bytes; speed counts from here, not from the jump to it.
          this.#retrying = null;
          if (total > 0 && total !== this.#fileSize) this.#fileSize = total;
          this.#loaded = Math.min(loaded, this.#fileSize);
          this.#meter.reset();
          this.#meter.sample(loaded, this.#now());
          this.#speed = null;
          this.#secondsLeft = null;
          if (this.#phase === 'finishing' && loaded < this.#fileSize) this.#phase = 'uploading';
        },
        onRetry: (reason) => {
          if (!current()) return;
          this.#retrying = reason;
          // No bytes move until the server answers again: no speed, no time left.
          this.#meter.reset();
          this.#meter.sample(this.#loaded, this.#now());
          this.#speed = null;
          this.#secondsLeft = null;
        },
        onCreated: (created) => {
          if (!current()) return;
          becomeReady(created.id, created.manageToken, created.shareUrl);
        },
        onSuccess: (result) => {
          if (!current()) return;
          this.#handle = null;
          this.#loaded = this.#fileSize;
          this.#speed = null;
          this.#secondsLeft = null;
          this.#phase = 'done';
          this.#retrying = null;
          this.#file = null;
          becomeReady(result.id, result.manageToken, result.url);
        },
        onError: (error) => {
          if (!current()) return;
          this.#handle = null;
          this.#phase = 'failed';
          this.#retrying = null;
          this.#speed = null;
          this.#secondsLeft = null;
          const abandoned = error instanceof ApiError && error.code === UPLOAD_ABANDONED;
          this.#message = abandoned ? ABANDONED_MESSAGE : error.message || 'The upload failed.';
          this.#retryable = error instanceof NetworkError || (error instanceof ApiError && error.status >= 500);
          // A refusal is final and the server keeps nothing: the link in "My videos" would lead nowhere.
          const id = this.#videoId;
          if (id && error instanceof ApiError && error.status >= 400 && error.status < 500) this.#library.remove(id);
        },
        onAbort: () => {
          if (!current()) return;
          this.#handle = null;
          this.#phase = 'cancelled';
          this.#retrying = null;
          this.#speed = null;
          this.#secondsLeft = null;
          this.#message = 'Upload cancelled.';
          this.#file = null;
        },
      },
      { maxIndexBytes: limits?.maxIndexBytes ?? null },
    );
    return true;
  }

  /**
   * Stops the upload and has the server delete what it received (the video ends with it). Resolves
   * to whether the server let go; the video leaves "My videos" only then (else its key is kept so it
   * can still be deleted).
   */
  async cancel(): Promise<boolean> {
    const handle = this.#handle;
    if (!handle || !this.busy) return false;
    const id = this.#videoId;
    this.#cleanup = id ? 'pending' : 'done';
    const ok = await handle.abort();
    if (!id || this.#videoId !== id) return ok;
    this.#cleanup = ok ? 'done' : 'failed';
    if (ok) this.#library.remove(id);
    return ok;
  }

  /** Tries a failed upload again with the same file (it resumes where the server stopped). */
  retry(hooks: StartHooks = {}): boolean {
    const file = this.#file;
    if (!this.canRetry || !file) return false;
    return this.start(file, this.#limits, hooks);
  }

  /** Back to nothing (after a failure or a cancel was shown). */
  reset(): void {
    if (this.busy) return;
    this.#phase = 'idle';
    this.#message = '';
    this.#loaded = 0;
    this.#videoId = null;
    this.#shareUrl = null;
    this.#cleanup = 'none';
    this.#file = null;
  }
}

/**
 * Asks the browser to confirm leaving (closing, reloading, another site) while an upload runs:
 * navigation inside the app keeps it going, leaving the page stops it. Returns the uninstaller.
 */
export function warnBeforeLeaving(
  manager: Pick<UploadManager, 'busy'>,
  target: Pick<Window, 'addEventListener' | 'removeEventListener'> = window,
): () => void {
  const onBeforeUnload = (e: BeforeUnloadEvent) => {
    if (!manager.busy) return;
    e.preventDefault();
    // Older engines (Safari before 17.4) ask only when returnValue is set.
    if (typeof BeforeUnloadEvent !== 'undefined' && e instanceof BeforeUnloadEvent) e.returnValue = '';
  };
  target.addEventListener('beforeunload', onBeforeUnload);
  return () => target.removeEventListener('beforeunload', onBeforeUnload);
}

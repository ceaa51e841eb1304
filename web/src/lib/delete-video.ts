// Deleting one of "My videos", from the share page or the list: also while its upload is running.

import { ApiError, type Api } from './api';
import type { Library } from './library.svelte';
import type { UploadManager } from './upload/upload-manager.svelte';

/** What the page says once a video is deleted (on the page the user lands on). */
export const DELETED_NOTICE = 'Deleted. The link no longer works.';

export interface DeleteDeps {
  api: Pick<Api, 'deleteVideo'>;
  library: Pick<Library, 'remove'>;
  uploads: Pick<UploadManager, 'isUploading' | 'cancel'>;
}

/**
 * Deletes the video for everyone. A video this browser is still uploading is first stopped and
 * terminated (which ends the video); if the server could not be told that way, `DELETE /api/video`
 * with the manage token does it. A video already gone counts as deleted. Throws what the server said.
 */
export async function deleteMyVideo(id: string, manageToken: string, deps: DeleteDeps): Promise<void> {
  if (deps.uploads.isUploading(id) && (await deps.uploads.cancel())) {
    deps.library.remove(id);
    return;
  }
  try {
    await deps.api.deleteVideo(id, manageToken);
  } catch (e) {
    if (!(e instanceof ApiError && e.notFound)) throw e;
  }
  deps.library.remove(id);
}

/** Why a delete failed, for a person. */
export function deleteErrorMessage(e: unknown): string {
  if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
    return 'The key this browser holds for this video was not accepted, so it was not deleted.';
  }
  return e instanceof Error && e.message ? e.message : 'The video could not be deleted.';
}

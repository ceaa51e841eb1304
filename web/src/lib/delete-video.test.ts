import { describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError } from './api';
import { deleteErrorMessage, deleteMyVideo, DELETED_NOTICE } from './delete-video';

function deps(over: { uploading?: boolean; cancelOk?: boolean; deleteError?: Error } = {}) {
  return {
    api: { deleteVideo: vi.fn(async () => (over.deleteError ? Promise.reject(over.deleteError) : undefined)) },
    library: { remove: vi.fn() },
    uploads: { isUploading: vi.fn(() => over.uploading ?? false), cancel: vi.fn(async () => over.cancelOk ?? true) },
  };
}

describe('deleteMyVideo', () => {
  it('deletes with the manage token and forgets the video', async () => {
    const d = deps();
    await deleteMyVideo('v1', 'tok', d);
    expect(d.api.deleteVideo).toHaveBeenCalledWith('v1', 'tok');
    expect(d.uploads.cancel).not.toHaveBeenCalled();
    expect(d.library.remove).toHaveBeenCalledWith('v1');
  });

  it('while it uploads: stops and terminates the upload instead', async () => {
    const d = deps({ uploading: true, cancelOk: true });
    await deleteMyVideo('v1', 'tok', d);
    expect(d.uploads.cancel).toHaveBeenCalledTimes(1);
    expect(d.api.deleteVideo).not.toHaveBeenCalled();
    expect(d.library.remove).toHaveBeenCalledWith('v1');
  });

  it('while it uploads, and the termination did not get through: deletes with the token', async () => {
    const d = deps({ uploading: true, cancelOk: false });
    await deleteMyVideo('v1', 'tok', d);
    expect(d.api.deleteVideo).toHaveBeenCalledWith('v1', 'tok');
    expect(d.library.remove).toHaveBeenCalledWith('v1');
  });

  it('a video already gone counts as deleted; other failures keep it', async () => {
    const gone = deps({ deleteError: new ApiError(404, 'not_found', 'Not found.') });
    await deleteMyVideo('v1', 'tok', gone);
    expect(gone.library.remove).toHaveBeenCalled();

    const refused = deps({ deleteError: new ApiError(403, 'forbidden', 'Forbidden.') });
    await expect(deleteMyVideo('v1', 'tok', refused)).rejects.toBeInstanceOf(ApiError);
    expect(refused.library.remove).not.toHaveBeenCalled();
  });

  it('explains failures', () => {
    expect(deleteErrorMessage(new ApiError(403, 'forbidden', 'x'))).toContain('was not accepted');
    expect(deleteErrorMessage(new NetworkError())).toContain('Could not reach the server');
    expect(deleteErrorMessage('?')).toBe('The video could not be deleted.');
    expect(DELETED_NOTICE).toBe('Deleted. The link no longer works.');
  });
});

import { describe, expect, it, vi } from 'vitest';
import { ABANDONED_MESSAGE, ApiError, NetworkError, type UploadResult } from '../api';
import { Library } from '../library.svelte';
import { MemoryStorage } from '../test-utils';
import { titleOf, UploadManager, warnBeforeLeaving } from './upload-manager.svelte';
import type { UploadCallbacks, UploadOptions, Uploader } from './uploader';

const limits = { maxUploadBytes: 1000, allowedExtensions: ['mp4', 'mkv'], maxIndexBytes: 4096 };
const result = (id = 'abc'): UploadResult => ({
  id,
  url: `/v/${id}`,
  statusUrl: `/api/video/${id}`,
  streamUrl: `/streams/${id}/master.m3u8`,
  thumbnailUrl: null,
  manageToken: `t-${id}`,
});

function fakeUploader(abortResult = true) {
  let cb: UploadCallbacks | null = null;
  let options: UploadOptions | undefined;
  const abort = vi.fn(async () => {
    cb?.onAbort?.();
    return abortResult;
  });
  const uploader: Uploader = {
    start: vi.fn((_file: File, callbacks: UploadCallbacks, opts?: UploadOptions) => {
      cb = callbacks;
      options = opts;
      return { abort };
    }),
  };
  return { uploader, abort, cb: () => cb!, options: () => options };
}

const file = (name: string, size: number) => new File([new Uint8Array(size)], name);

function setup(abortResult = true) {
  let now = 0;
  const f = fakeUploader(abortResult);
  const library = new Library(new MemoryStorage());
  const m = new UploadManager({ uploader: f.uploader, library, now: () => now, date: () => new Date('2026-11-24T08:00:00Z') });
  return { f, library, m, at: (t: number) => (now = t) };
}

describe('UploadManager', () => {
  it('refuses a bad file before calling the uploader', () => {
    const { f, m } = setup();
    expect(m.start(file('notes.txt', 10), limits)).toBe(false);
    expect(m.phase).toBe('invalid');
    expect(m.message).toContain('.txt');
    expect(m.start(file('a.mp4', 0), limits)).toBe(false);
    expect(m.message).toContain('empty');
    expect(m.start(file('a.mp4', 1001), limits)).toBe(false);
    expect(f.uploader.start).not.toHaveBeenCalled();
  });

  it('passes the index-first limit from the config to the uploader', () => {
    const { f, m } = setup();
    m.start(file('a.mp4', 10), limits);
    expect(f.options()).toEqual({ maxIndexBytes: 4096 });
    m.cancel();
    m.start(file('a.mp4', 10), { maxUploadBytes: 1000, allowedExtensions: ['mp4'] });
    expect(f.options()).toEqual({ maxIndexBytes: null });
  });

  it('as soon as the server created the video: into My videos with its key, and ready to open, while it uploads', () => {
    const { f, m, library } = setup();
    const onReady = vi.fn();
    m.start(file('Holiday.mp4', 1000), limits, { onReady });
    f.cb().onProgress(100, 1000);
    f.cb().onCreated!({ id: 'vid1', manageToken: 'tok1', shareUrl: '/v/vid1', resumed: false });
    expect(onReady).toHaveBeenCalledWith('vid1', '/v/vid1');
    expect(library.get('vid1')).toEqual({ id: 'vid1', manageToken: 'tok1', title: 'Holiday', createdAt: '2026-11-24T08:00:00.000Z' });
    expect(m.videoId).toBe('vid1');
    expect(m.isUploading('vid1')).toBe(true);
    expect(m.isUploading('other')).toBe(false);
    expect(m.busy).toBe(true);

    // The end: no second navigation, the entry stays as it was.
    f.cb().onProgress(1000, 1000);
    expect(m.phase).toBe('finishing');
    f.cb().onSuccess({ ...result('vid1'), manageToken: 'tok1' });
    expect(m.phase).toBe('done');
    expect(m.isUploading('vid1')).toBe(false);
    expect(m.isFor('vid1')).toBe(true);
    expect(onReady).toHaveBeenCalledTimes(1);
    expect(library.entries).toHaveLength(1);
  });

  it('a link revoked while it uploads: the upload goes on as the new id, even if the last answer names the old one', () => {
    const { f, m, library } = setup();
    m.start(file('Holiday.mp4', 1000), limits);
    f.cb().onCreated!({ id: 'vid1', manageToken: 'tok1', shareUrl: '/v/vid1', resumed: false });
    library.changeId('vid1', 'vid2');
    m.changeVideoId('vid1', 'vid2');
    expect(m.isUploading('vid2')).toBe(true);
    expect(m.shareUrl).toBe('/v/vid2');
    f.cb().onSuccess({ ...result('vid1'), manageToken: 'tok1' });
    expect(m.isFor('vid2')).toBe(true);
    expect(library.entries.map((e) => e.id)).toEqual(['vid2']);
  });

  it('a resumed upload keeps its first date in My videos', () => {
    const { f, m, library } = setup();
    library.add({ id: 'vid1', manageToken: 'tok1', title: 'Holiday', createdAt: '2026-01-01T00:00:00.000Z' });
    m.start(file('Holiday.mp4', 1000), limits);
    f.cb().onCreated!({ id: 'vid1', manageToken: 'tok1', shareUrl: '/v/vid1', resumed: true });
    expect(library.get('vid1')?.createdAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('without tus (multipart), the video is ready only at the end', () => {
    const { f, m, library } = setup();
    const onReady = vi.fn();
    m.start(file('clip.mkv', 500), limits, { onReady });
    f.cb().onProgress(500, 500);
    expect(onReady).not.toHaveBeenCalled();
    expect(library.entries).toHaveLength(0);
    f.cb().onSuccess(result('x1'));
    expect(onReady).toHaveBeenCalledWith('x1', '/v/x1');
    expect(library.get('x1')?.manageToken).toBe('t-x1');
  });

  it('tracks progress, speed and time left, and a resume from the server offset', () => {
    const { f, m, at } = setup();
    m.start(file('a.mp4', 1000), limits);
    at(1000);
    f.cb().onProgress(400, 1000);
    expect(m.percent).toBe(40);
    expect(m.speed).toBeCloseTo(400);
    expect(m.secondsLeft).toBeCloseTo(1.5);
    at(1100);
    f.cb().onRestart!(300, 1000);
    expect(m.loaded).toBe(300);
    expect(m.speed).toBeNull();
    at(2100);
    f.cb().onProgress(500, 1000);
    expect(m.speed).toBeCloseTo(200);
  });

  it('says it is retrying while a failed request waits, without a stale speed, until bytes flow again', () => {
    const { f, m, at } = setup();
    m.start(file('a.mp4', 1000), limits);
    at(1000);
    f.cb().onProgress(400, 1000);
    expect(m.retrying).toBeNull();
    f.cb().onRetry!('network', 0, 0);
    expect(m.retrying).toBe('network');
    expect(m.speed).toBeNull();
    expect(m.secondsLeft).toBeNull();
    expect(m.busy).toBe(true);
    // The same bytes again (a progress event of the failed request) do not mean it is back.
    f.cb().onProgress(400, 1000);
    expect(m.retrying).toBe('network');
    // The server answers the offset question: it is back.
    f.cb().onRestart!(400, 1000);
    expect(m.retrying).toBeNull();
    f.cb().onRetry!('server', 1, 1000);
    expect(m.retrying).toBe('server');
    at(2000);
    f.cb().onProgress(600, 1000);
    expect(m.retrying).toBeNull();
    f.cb().onRetry!('network', 0, 0);
    f.cb().onSuccess(result('abc'));
    expect(m.retrying).toBeNull();
  });

  it('a refusal after creation (not a video) is kept with the video id, and its dead link leaves My videos', () => {
    const { f, m, library } = setup();
    m.start(file('a.mp4', 1000), limits);
    f.cb().onCreated!({ id: 'vid1', manageToken: 'tok1', shareUrl: '/v/vid1', resumed: false });
    f.cb().onError(new ApiError(415, 'unsupported_media_type', 'This is not a video file we can read.'));
    expect(m.phase).toBe('failed');
    expect(m.isFor('vid1')).toBe(true);
    expect(m.message).toBe('This is not a video file we can read.');
    expect(m.canRetry).toBe(false);
    expect(library.get('vid1')).toBeUndefined();
  });

  it('an abandoned upload reads as such', () => {
    const { f, m } = setup();
    m.start(file('a.mp4', 1000), limits);
    f.cb().onCreated!({ id: 'vid1', manageToken: 'tok1', shareUrl: '/v/vid1', resumed: false });
    f.cb().onError(new ApiError(410, 'upload_abandoned', 'Gone.'));
    expect(m.message).toBe(ABANDONED_MESSAGE);
    expect(m.message).toBe('The upload was cancelled or abandoned.');
  });

  it('a connection failure keeps the key and can be retried with the same file', () => {
    const { f, m, library } = setup();
    const picked = file('a.mp4', 1000);
    m.start(picked, limits);
    f.cb().onCreated!({ id: 'vid1', manageToken: 'tok1', shareUrl: '/v/vid1', resumed: false });
    f.cb().onError(new NetworkError('The upload was interrupted.'));
    expect(library.get('vid1')).toBeDefined();
    expect(m.canRetry).toBe(true);
    expect(m.retry()).toBe(true);
    expect(f.uploader.start).toHaveBeenCalledTimes(2);
    expect(vi.mocked(f.uploader.start).mock.calls[1][0]).toBe(picked);
    expect(m.phase).toBe('uploading');
  });

  it('cancel stops the upload, and the video leaves My videos once the server let go', async () => {
    const { f, m, library } = setup(true);
    m.start(file('a.mp4', 1000), limits);
    f.cb().onCreated!({ id: 'vid1', manageToken: 'tok1', shareUrl: '/v/vid1', resumed: false });
    const done = m.cancel();
    expect(m.phase).toBe('cancelled');
    expect(m.cleanup).toBe('pending');
    expect(await done).toBe(true);
    expect(f.abort).toHaveBeenCalledTimes(1);
    expect(m.cleanup).toBe('done');
    expect(m.busy).toBe(false);
    expect(library.get('vid1')).toBeUndefined();
    // Callbacks after the end change nothing.
    f.cb().onProgress(900, 1000);
    expect(m.loaded).toBe(0);
  });

  it('when the server could not be told, the key stays so the video can still be deleted', async () => {
    const { f, m, library } = setup(false);
    m.start(file('a.mp4', 1000), limits);
    f.cb().onCreated!({ id: 'vid1', manageToken: 'tok1', shareUrl: '/v/vid1', resumed: false });
    expect(await m.cancel()).toBe(false);
    expect(m.cleanup).toBe('failed');
    expect(library.get('vid1')?.manageToken).toBe('tok1');
  });

  it('does not start a second upload while one is running', () => {
    const { f, m } = setup();
    m.start(file('a.mp4', 10), limits);
    expect(m.start(file('b.mp4', 10), limits)).toBe(false);
    expect(f.uploader.start).toHaveBeenCalledTimes(1);
  });

  it('names the video after the file', () => {
    expect(titleOf('Holiday 2026.final.MP4')).toBe('Holiday 2026.final');
    expect(titleOf('noext')).toBe('noext');
  });
});

describe('warnBeforeLeaving', () => {
  it('asks before the page is left only while bytes are on their way', () => {
    const target = new EventTarget();
    const state = { busy: true };
    const uninstall = warnBeforeLeaving(state, target as unknown as Window);
    const leave = () => {
      const e = new Event('beforeunload', { cancelable: true }) as BeforeUnloadEvent;
      target.dispatchEvent(e);
      return e.defaultPrevented;
    };
    expect(leave()).toBe(true);
    state.busy = false;
    expect(leave()).toBe(false);
    state.busy = true;
    uninstall();
    expect(leave()).toBe(false);
  });
});

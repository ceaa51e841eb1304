import { describe, expect, it, vi } from 'vitest';
import { ApiError, type UploadResult } from '../api';
import { UploadModel } from './upload-model.svelte';
import type { UploadCallbacks, Uploader } from './uploader';

const limits = { maxUploadBytes: 1000, allowedExtensions: ['mp4'] };
const result: UploadResult = { id: 'abc', url: '/v/abc', statusUrl: '/api/video/abc', streamUrl: '/streams/abc/master.m3u8', thumbnailUrl: null, manageToken: 't' };

function fakeUploader() {
  let cb: UploadCallbacks | null = null;
  const abort = vi.fn(() => cb?.onAbort?.());
  const uploader: Uploader = {
    start: vi.fn((_file: File, callbacks: UploadCallbacks) => {
      cb = callbacks;
      return { abort };
    }),
  };
  return { uploader, abort, cb: () => cb! };
}

const file = (name: string, size: number) => new File([new Uint8Array(size)], name);

describe('UploadModel', () => {
  it('refuses a bad file before calling the uploader', () => {
    const f = fakeUploader();
    const m = new UploadModel(f.uploader);
    expect(m.start(file('notes.txt', 10), limits, () => {})).toBe(false);
    expect(m.phase).toBe('invalid');
    expect(m.message).toContain('.txt');
    expect(m.start(file('a.mp4', 0), limits, () => {})).toBe(false);
    expect(m.message).toContain('empty');
    expect(m.start(file('a.mp4', 1001), limits, () => {})).toBe(false);
    expect(f.uploader.start).not.toHaveBeenCalled();
  });

  it('tracks progress, speed and time left, then hands over the result', () => {
    let now = 0;
    const f = fakeUploader();
    const m = new UploadModel(f.uploader, () => now);
    const done = vi.fn();
    expect(m.start(file('a.mp4', 1000), limits, done)).toBe(true);
    expect(m.phase).toBe('uploading');
    now = 1000;
    f.cb().onProgress(400, 1000);
    expect(m.percent).toBe(40);
    expect(m.speed).toBeCloseTo(400);
    expect(m.secondsLeft).toBeCloseTo(1.5);
    now = 2000;
    f.cb().onProgress(1000, 1000);
    expect(m.phase).toBe('finishing');
    f.cb().onSuccess(result);
    expect(m.phase).toBe('done');
    expect(done).toHaveBeenCalledWith(result, expect.any(File));
  });

  it('on a resume, shows the server offset and measures speed from there', () => {
    let now = 0;
    const f = fakeUploader();
    const m = new UploadModel(f.uploader, () => now);
    m.start(file('a.mp4', 1000), limits, () => {});
    now = 100;
    // The page was reloaded: the server already has 600 bytes.
    f.cb().onRestart!(600, 1000);
    expect(m.percent).toBe(60);
    expect(m.speed).toBeNull();
    now = 1100;
    f.cb().onProgress(700, 1000);
    expect(m.speed).toBeCloseTo(100);
    expect(m.secondsLeft).toBeCloseTo(3);
    // The last bytes were lost with the connection: back to what the server kept.
    now = 1200;
    f.cb().onProgress(1000, 1000);
    expect(m.phase).toBe('finishing');
    f.cb().onRestart!(900, 1000);
    expect(m.phase).toBe('uploading');
    expect(m.loaded).toBe(900);
  });

  it("shows the server's message on failure", () => {
    const f = fakeUploader();
    const m = new UploadModel(f.uploader);
    m.start(file('a.mp4', 10), limits, () => {});
    f.cb().onError(new ApiError(415, 'unsupported_media_type', 'This is not a video file we can read.'));
    expect(m.phase).toBe('failed');
    expect(m.message).toBe('This is not a video file we can read.');
  });

  it('cancels', () => {
    const f = fakeUploader();
    const m = new UploadModel(f.uploader);
    m.start(file('a.mp4', 10), limits, () => {});
    m.cancel();
    expect(f.abort).toHaveBeenCalled();
    expect(m.phase).toBe('cancelled');
    expect(m.busy).toBe(false);
  });

  it('does not start a second upload while one is running', () => {
    const f = fakeUploader();
    const m = new UploadModel(f.uploader);
    m.start(file('a.mp4', 10), limits, () => {});
    expect(m.start(file('b.mp4', 10), limits, () => {})).toBe(false);
    expect(f.uploader.start).toHaveBeenCalledTimes(1);
  });
});

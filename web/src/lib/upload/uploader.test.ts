import { describe, expect, it, vi } from 'vitest';
import { ChoosingUploader, defaultUploader, probeTus } from './choose-uploader';
import type { UploadCallbacks, Uploader } from './uploader';

const answer = (status: number, headers: Record<string, string> = {}) =>
  vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response(null, { status, headers }));

describe('probeTus', () => {
  it('says yes only for 204 with Tus-Version 1.0.0', async () => {
    const tus = answer(204, { 'Tus-Version': '1.0.0', 'Tus-Extension': 'creation,termination' });
    expect(await probeTus(tus)).toBe(true);
    expect(tus).toHaveBeenCalledWith('/api/uploads', expect.objectContaining({ method: 'OPTIONS' }));
    expect(await probeTus(answer(204, { 'Tus-Version': '0.2.2, 1.0.0' }))).toBe(true);
    expect(await probeTus(answer(204))).toBe(false);
    expect(await probeTus(answer(204, { 'Tus-Version': '0.2.2' }))).toBe(false);
    expect(await probeTus(answer(404))).toBe(false);
    expect(await probeTus(answer(405))).toBe(false);
    expect(await probeTus(answer(200, { 'Tus-Version': '1.0.0' }))).toBe(false);
  });

  it('cannot tell without an answer', async () => {
    expect(await probeTus(vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))).toBeNull();
  });
});

function fake(name: string) {
  const handle = { abort: vi.fn() };
  const uploader: Uploader & { name: string } = { name, start: vi.fn(() => handle) };
  return { uploader, handle };
}

const cbs = (): UploadCallbacks => ({ onProgress: vi.fn(), onSuccess: vi.fn(), onError: vi.fn(), onAbort: vi.fn() });
const file = new File([new Uint8Array(4)], 'a.mp4');

describe('ChoosingUploader', () => {
  it('uses tus when the server offers it, and asks only once', async () => {
    const tus = fake('tus');
    const xhr = fake('xhr');
    const probe = vi.fn(async () => true);
    const u = new ChoosingUploader(probe, () => tus.uploader, () => xhr.uploader);
    const cb = cbs();
    u.start(file, cb, { maxIndexBytes: 4096 });
    await vi.waitFor(() => expect(tus.uploader.start).toHaveBeenCalledWith(file, cb, { maxIndexBytes: 4096 }));
    u.start(file, cbs());
    await vi.waitFor(() => expect(tus.uploader.start).toHaveBeenCalledTimes(2));
    expect(probe).toHaveBeenCalledTimes(1);
    expect(xhr.uploader.start).not.toHaveBeenCalled();
  });

  it('falls back to the multipart upload when the server does not speak tus', async () => {
    const tus = fake('tus');
    const xhr = fake('xhr');
    const u = new ChoosingUploader(async () => false, () => tus.uploader, () => xhr.uploader);
    expect(await u.choose()).toBe(xhr.uploader);
    u.start(file, cbs());
    await vi.waitFor(() => expect(xhr.uploader.start).toHaveBeenCalledTimes(1));
    expect(tus.uploader.start).not.toHaveBeenCalled();
  });

  it('asks again next time when the server could not be reached', async () => {
    const tus = fake('tus');
    const xhr = fake('xhr');
    const probe = vi.fn<() => Promise<boolean | null>>().mockResolvedValueOnce(null).mockResolvedValueOnce(true);
    const u = new ChoosingUploader(probe, () => tus.uploader, () => xhr.uploader);
    expect(await u.choose()).toBe(xhr.uploader);
    expect(await u.choose()).toBe(tus.uploader);
    expect(await u.choose()).toBe(tus.uploader);
    expect(probe).toHaveBeenCalledTimes(2);
  });

  it('cancel before the choice is made: aborted, and nothing is started', async () => {
    const tus = fake('tus');
    let decide: (v: boolean) => void = () => {};
    const u = new ChoosingUploader(() => new Promise((r) => (decide = r)), () => tus.uploader, () => fake('xhr').uploader);
    const cb = cbs();
    const handle = u.start(file, cb);
    await expect(handle.abort()).resolves.toBe(true);
    await handle.abort();
    expect(cb.onAbort).toHaveBeenCalledTimes(1);
    decide(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(tus.uploader.start).not.toHaveBeenCalled();
  });

  it('cancel after the choice goes to the chosen uploader', async () => {
    const tus = fake('tus');
    const u = new ChoosingUploader(async () => true, () => tus.uploader, () => fake('xhr').uploader);
    const handle = u.start(file, cbs());
    await vi.waitFor(() => expect(tus.uploader.start).toHaveBeenCalled());
    handle.abort();
    expect(tus.handle.abort).toHaveBeenCalledTimes(1);
  });

  it('is what the upload page gets', () => {
    expect(defaultUploader()).toBeInstanceOf(ChoosingUploader);
  });
});

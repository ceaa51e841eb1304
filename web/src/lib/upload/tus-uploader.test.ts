// TusUploader with the real tus-js-client (browser build); only its network (HttpStack) and its URL
// storage are replaced, by a small in-memory tus server and a Map.

import { describe, expect, it, vi } from 'vitest';
import type { HttpRequest, HttpResponse, HttpStack, PreviousUpload } from 'tus-js-client';
import { ApiError, NetworkError } from '../api';
import { MemoryStorage } from '../test-utils';
import { chooseResume, ManageTokenStore, resolveLocation, resultOf, shouldRetry, toUploadError, TOKEN_KEY_PREFIX, TusUploader, uploadIdOf } from './tus-uploader';
import type { UploadCallbacks } from './uploader';

const ORIGIN = 'http://127.0.0.1:8080';

interface ServerUpload {
  length: number;
  offset: number;
  metadata: string;
}

interface Seen {
  method: string;
  url: string;
  offset?: number;
}

/** A tus 1.0.0 server in memory, with ways to break the connection. */
class FakeTusServer implements HttpStack {
  uploads = new Map<string, ServerUpload>();
  seen: Seen[] = [];
  next = 1;
  /** Called for each PATCH before it is answered: return 'drop' (the connection breaks after `keep` bytes), 'hang', or a response. */
  onPatch: (n: number, offset: number, size: number) => { kind: 'drop'; keep: number } | { kind: 'hang'; keep: number } | { kind: 'answer'; status: number; body: string } | null = () => null;
  patches = 0;
  createStatus: { status: number; body: string } | null = null;

  getName() {
    return 'fake';
  }

  createRequest(method: string, url: string): HttpRequest {
    const headers: Record<string, string> = {};
    let progress: (n: number) => void = () => {};
    let rejectHang: ((e: Error) => void) | null = null;
    const request: HttpRequest = {
      getMethod: () => method,
      getURL: () => url,
      setHeader: (k, v) => {
        headers[k.toLowerCase()] = v;
      },
      getHeader: (k) => headers[k.toLowerCase()],
      setProgressHandler: (h) => {
        progress = h;
      },
      abort: async () => {
        rejectHang?.(new Error('aborted'));
      },
      getUnderlyingObject: () => null,
      send: (body: unknown) =>
        new Promise<HttpResponse>((resolve, reject) => {
          rejectHang = reject;
          queueMicrotask(() => {
            try {
              const out = this.handle(method, url, headers, body as Blob | null, progress);
              if (out === 'drop') reject(new Error('network'));
              else if (out !== 'hang') resolve(out);
            } catch (e) {
              reject(e as Error);
            }
          });
        }),
    };
    return request;
  }

  private handle(method: string, url: string, headers: Record<string, string>, body: Blob | null, progress: (n: number) => void): HttpResponse | 'drop' | 'hang' {
    const path = new URL(url, ORIGIN).pathname;
    const offsetHeader = headers['upload-offset'];
    this.seen.push({ method, url: path, ...(offsetHeader !== undefined ? { offset: Number(offsetHeader) } : {}) });
    if (headers['tus-resumable'] !== '1.0.0') return response(412, {});
    if (method === 'POST' && path === '/api/uploads') {
      if (this.createStatus) return response(this.createStatus.status, {}, this.createStatus.body);
      const id = `vid${this.next++}`;
      this.uploads.set(id, { length: Number(headers['upload-length']), offset: 0, metadata: headers['upload-metadata'] ?? '' });
      return response(201, { Location: `/api/uploads/${id}`, 'Flick-Manage-Token': `token-${id}`, 'Upload-Offset': '0' });
    }
    const id = path.replace('/api/uploads/', '');
    const up = this.uploads.get(id);
    if (!up) return response(404, {}, JSON.stringify({ error: { code: 'not_found', message: 'Not found.' } }));
    if (method === 'HEAD') return response(200, { 'Upload-Offset': String(up.offset), 'Upload-Length': String(up.length), 'Cache-Control': 'no-store' });
    if (method === 'DELETE') {
      this.uploads.delete(id);
      return response(204, {});
    }
    if (method === 'PATCH') {
      const offset = Number(offsetHeader);
      if (offset !== up.offset) return response(409, {}, JSON.stringify({ error: { code: 'offset_mismatch', message: 'offset' } }));
      const size = body?.size ?? 0;
      const n = ++this.patches;
      const rule = this.onPatch(n, offset, size);
      if (rule?.kind === 'answer') return response(rule.status, {}, rule.body);
      if (rule?.kind === 'drop' || rule?.kind === 'hang') {
        progress(size);
        up.offset += rule.keep;
        return rule.kind;
      }
      progress(size);
      up.offset += size;
      return response(204, { 'Upload-Offset': String(up.offset) });
    }
    return response(405, {});
  }

  count(method: string) {
    return this.seen.filter((s) => s.method === method).length;
  }
}

function response(status: number, headers: Record<string, string>, body = ''): HttpResponse {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { getStatus: () => status, getHeader: (k) => lower[k.toLowerCase()], getBody: () => body, getUnderlyingObject: () => null };
}

/** tus-js-client's URL storage (what it keeps in localStorage in the browser), in memory. */
class MemoryUrlStorage {
  entries = new Map<string, PreviousUpload & { fingerprint: string }>();
  private n = 0;
  async findAllUploads() {
    return [...this.entries.values()];
  }
  async findUploadsByFingerprint(fingerprint: string) {
    return [...this.entries.values()].filter((e) => e.fingerprint === fingerprint);
  }
  async removeUpload(key: string) {
    this.entries.delete(key);
  }
  async addUpload(fingerprint: string, upload: PreviousUpload) {
    const key = `tus::${fingerprint}::${++this.n}`;
    this.entries.set(key, { ...upload, urlStorageKey: key, fingerprint });
    return key;
  }
}

const CHUNK = 1000;
const clip = () => new File([new Uint8Array(2500)], 'holiday.mp4', { type: 'video/mp4', lastModified: 1_700_000_000_000 });

function setup(server = new FakeTusServer(), urlStorage = new MemoryUrlStorage(), storage = new MemoryStorage()) {
  // As in the page: a relative endpoint, and upload URLs relative to the page.
  const tokens = new ManageTokenStore(storage, undefined, `${ORIGIN}/`);
  const uploader = new TusUploader({ endpoint: '/api/uploads', chunkSize: CHUNK, retryDelays: [0, 0, 0, 0], tokens, httpStack: server, urlStorage });
  return { server, urlStorage, storage, tokens, uploader };
}

function callbacks() {
  let resolveEnd: (v: string) => void = () => {};
  const ended = new Promise<string>((r) => (resolveEnd = r));
  const cb = {
    onProgress: vi.fn<UploadCallbacks['onProgress']>(),
    onRestart: vi.fn<NonNullable<UploadCallbacks['onRestart']>>(),
    onSuccess: vi.fn<UploadCallbacks['onSuccess']>(() => resolveEnd('success')),
    onError: vi.fn<UploadCallbacks['onError']>(() => resolveEnd('error')),
    onAbort: vi.fn(() => resolveEnd('abort')),
  };
  return { cb, ended };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('TusUploader', () => {
  it('creates the upload, keeps the manage token from the POST answer, and ends with the video', async () => {
    const { server, uploader, storage, urlStorage } = setup();
    let tokenDuringUpload: string | null = null;
    server.onPatch = (n) => {
      if (n === 2) tokenDuringUpload = storage.getItem(`${TOKEN_KEY_PREFIX}${ORIGIN}/api/uploads/vid1`);
      return null;
    };
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    expect(await ended).toBe('success');
    expect(server.seen.map((s) => s.method)).toEqual(['POST', 'PATCH', 'PATCH', 'PATCH']);
    expect(server.seen.filter((s) => s.method === 'PATCH').map((s) => s.offset)).toEqual([0, 1000, 2000]);
    expect(JSON.parse(tokenDuringUpload!).token).toBe('token-vid1');
    expect(cb.onSuccess).toHaveBeenCalledWith(resultOf(`${ORIGIN}/api/uploads/vid1`, 'token-vid1'));
    expect(cb.onSuccess.mock.calls[0][0]).toMatchObject({ id: 'vid1', url: '/v/vid1', manageToken: 'token-vid1' });
    expect(cb.onProgress).toHaveBeenLastCalledWith(2500, 2500);
    // Nothing is left behind for a finished upload.
    expect(storage.length).toBe(0);
    expect(urlStorage.entries.size).toBe(0);
    // The metadata names the file and its type (base64).
    const meta = server.uploads.get('vid1')!.metadata;
    expect(meta).toContain(`filename ${btoa('holiday.mp4')}`);
    expect(meta).toContain(`filetype ${btoa('video/mp4')}`);
  });

  it('resumes from the server offset after the connection drops, without a new upload', async () => {
    const { server, uploader } = setup();
    server.onPatch = (n) => (n === 2 ? { kind: 'drop', keep: 400 } : null);
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    expect(await ended).toBe('success');
    expect(server.count('POST')).toBe(1);
    expect(server.count('HEAD')).toBe(1);
    expect(server.seen.filter((s) => s.method === 'PATCH').map((s) => s.offset)).toEqual([0, 1000, 1400, 2400]);
    expect(cb.onRestart).toHaveBeenCalledWith(1400, 2500);
    expect(cb.onError).not.toHaveBeenCalled();
    expect(cb.onSuccess.mock.calls[0][0].manageToken).toBe('token-vid1');
  });

  it('keeps retrying while the browser says it is offline', async () => {
    const { server, uploader } = setup();
    vi.stubGlobal('navigator', { onLine: false });
    try {
      server.onPatch = (n) => (n === 1 ? { kind: 'drop', keep: 0 } : null);
      const { cb, ended } = callbacks();
      uploader.start(clip(), cb);
      expect(await ended).toBe('success');
      expect(server.count('HEAD')).toBe(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('after a reload, resumes the same file from the server offset with the token from the first start', async () => {
    const server = new FakeTusServer();
    const urlStorage = new MemoryUrlStorage();
    const storage = new MemoryStorage();
    // The first page dies in the middle of the second chunk.
    server.onPatch = (n) => (n === 2 ? { kind: 'hang', keep: 300 } : null);
    const first = setup(server, urlStorage, storage);
    first.uploader.start(clip(), callbacks().cb);
    await vi.waitFor(() => expect(server.patches).toBe(2));
    expect(urlStorage.entries.size).toBe(1);

    // A new page (new uploader, same storage) and the same file picked again.
    server.onPatch = () => null;
    const second = setup(server, urlStorage, storage);
    const { cb, ended } = callbacks();
    second.uploader.start(clip(), cb);
    expect(await ended).toBe('success');
    expect(server.count('POST')).toBe(1);
    expect(server.seen.slice(3).map((s) => [s.method, s.offset])).toEqual([
      ['HEAD', undefined],
      ['PATCH', 1300],
      ['PATCH', 2300],
    ]);
    expect(cb.onRestart).toHaveBeenCalledWith(1300, 2500);
    expect(cb.onSuccess.mock.calls[0][0]).toMatchObject({ id: 'vid1', manageToken: 'token-vid1' });
    expect(storage.length).toBe(0);
  });

  it('does not resume an upload whose manage token is lost: it starts a new one', async () => {
    const server = new FakeTusServer();
    const urlStorage = new MemoryUrlStorage();
    server.onPatch = (n) => (n === 1 ? { kind: 'hang', keep: 500 } : null);
    const first = setup(server, urlStorage);
    first.uploader.start(clip(), callbacks().cb);
    await vi.waitFor(() => expect(server.patches).toBe(1));

    server.onPatch = () => null;
    const second = setup(server, urlStorage, new MemoryStorage()); // another storage: no token
    const { cb, ended } = callbacks();
    second.uploader.start(clip(), cb);
    expect(await ended).toBe('success');
    expect(server.count('POST')).toBe(2);
    expect(cb.onSuccess.mock.calls[0][0]).toMatchObject({ id: 'vid2', manageToken: 'token-vid2' });
  });

  it("shows the server's message when it refuses the file, and does not retry", async () => {
    const { server, uploader, storage } = setup();
    server.onPatch = () => ({ kind: 'answer', status: 415, body: JSON.stringify({ error: { code: 'unsupported_media_type', message: 'This is not a video file.' } }) });
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    expect(await ended).toBe('error');
    const err = cb.onError.mock.calls[0][0];
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toBe('This is not a video file.');
    expect((err as ApiError).code).toBe('unsupported_media_type');
    expect(server.count('PATCH')).toBe(1);
    expect(storage.length).toBe(0);
  });

  it('says too large when the creation is refused with 413', async () => {
    const { server, uploader } = setup();
    server.createStatus = { status: 413, body: JSON.stringify({ error: { code: 'too_large', message: 'The file is larger than 1 GB.' } }) };
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    expect(await ended).toBe('error');
    expect(cb.onError.mock.calls[0][0].message).toBe('The file is larger than 1 GB.');
  });

  it('cancel stops the upload and deletes it on the server (termination)', async () => {
    const { server, uploader, storage } = setup();
    server.onPatch = (n) => (n === 2 ? { kind: 'hang', keep: 0 } : null);
    const { cb } = callbacks();
    const handle = uploader.start(clip(), cb);
    await vi.waitFor(() => expect(server.patches).toBe(2));
    handle.abort();
    expect(cb.onAbort).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(server.count('DELETE')).toBe(1));
    expect(server.uploads.size).toBe(0);
    await vi.waitFor(() => expect(storage.length).toBe(0));
    await tick();
    expect(cb.onSuccess).not.toHaveBeenCalled();
    expect(cb.onError).not.toHaveBeenCalled();
  });
});

describe('tus helpers', () => {
  const prev = (uploadUrl: string | null, creationTime: string): PreviousUpload => ({
    size: 10,
    metadata: {},
    creationTime,
    urlStorageKey: `k-${uploadUrl}`,
    uploadUrl,
    parallelUploadUrls: null,
  });

  it('chooses the newest earlier upload that still has its token', () => {
    const tokens = new ManageTokenStore(new MemoryStorage());
    tokens.set(`${ORIGIN}/api/uploads/a`, 'ta');
    tokens.set(`${ORIGIN}/api/uploads/b`, 'tb');
    const list = [
      prev(`${ORIGIN}/api/uploads/a`, '2026-01-01T10:00:00Z'),
      prev(`${ORIGIN}/api/uploads/c`, '2026-01-03T10:00:00Z'), // newest, but no token
      prev(`${ORIGIN}/api/uploads/b`, '2026-01-02T10:00:00Z'),
      prev(null, '2026-01-04T10:00:00Z'),
    ];
    expect(chooseResume(list, tokens)?.uploadUrl).toBe(`${ORIGIN}/api/uploads/b`);
    expect(chooseResume([], tokens)).toBeNull();
    expect(chooseResume([prev(`${ORIGIN}/api/uploads/c`, '2026-01-03T10:00:00Z')], tokens)).toBeNull();
  });

  it('retries dropped connections, server errors, 409 and 423; not other refusals', () => {
    const withStatus = (status: number) => Object.assign(new Error('x'), { originalResponse: response(status, {}) });
    expect(shouldRetry(new Error('network'))).toBe(true);
    expect(shouldRetry(withStatus(0))).toBe(true);
    expect(shouldRetry(withStatus(500))).toBe(true);
    expect(shouldRetry(withStatus(503))).toBe(true);
    expect(shouldRetry(withStatus(409))).toBe(true);
    expect(shouldRetry(withStatus(423))).toBe(true);
    for (const s of [400, 403, 404, 410, 412, 413, 415, 460]) expect(shouldRetry(withStatus(s))).toBe(false);
  });

  it('turns failures into what the page shows', () => {
    const withResponse = (status: number, body: string) => Object.assign(new Error('tus: unexpected response'), { originalResponse: response(status, {}, body) });
    const refused = toUploadError(withResponse(413, JSON.stringify({ error: { code: 'too_large', message: 'Too big for this server.' } })));
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused.message).toBe('Too big for this server.');
    expect(toUploadError(withResponse(415, 'not json')).message).toBe('This file type is not supported.');
    expect(toUploadError(new Error('tus: failed to upload chunk'))).toBeInstanceOf(NetworkError);
  });

  it('resolves the Location of a new upload like tus-js-client does', () => {
    expect(resolveLocation('/api/uploads/abc', '/api/uploads')).toBe('/api/uploads/abc');
    expect(resolveLocation('abc', '/api/uploads/')).toBe('/api/uploads/abc');
    expect(resolveLocation('/api/uploads/abc', `${ORIGIN}/api/uploads`)).toBe(`${ORIGIN}/api/uploads/abc`);
    expect(resolveLocation('https://cdn.example/u/1', '/api/uploads')).toBe('https://cdn.example/u/1');
  });

  it('reads the id from the upload URL and builds the same result as POST /api/upload', () => {
    expect(uploadIdOf(`${ORIGIN}/api/uploads/0123abcd`)).toBe('0123abcd');
    expect(uploadIdOf('/api/uploads/0123abcd/')).toBe('0123abcd');
    expect(resultOf('/api/uploads/xyz', 'tok')).toEqual({
      id: 'xyz',
      url: '/v/xyz',
      statusUrl: '/api/video/xyz',
      streamUrl: '/streams/xyz/master.m3u8',
      thumbnailUrl: '/thumbnails/xyz.jpg',
      manageToken: 'tok',
    });
  });

  it('keeps tokens in storage, falls back to memory, and forgets stale ones', () => {
    let now = 1_000_000_000_000;
    const storage = new MemoryStorage();
    const tokens = new ManageTokenStore(storage, () => now);
    tokens.set('u1', 't1');
    expect(new ManageTokenStore(storage).get('u1')).toBe('t1');
    now += 4 * 24 * 3600 * 1000;
    tokens.set('u2', 't2');
    expect(storage.getItem(TOKEN_KEY_PREFIX + 'u1')).toBeNull();
    expect(new ManageTokenStore(storage).get('u2')).toBe('t2');

    // Relative and absolute forms of an upload URL are the same upload.
    const based = new ManageTokenStore(new MemoryStorage(), () => now, `${ORIGIN}/`);
    based.set('/api/uploads/abc', 'tabc');
    expect(based.get(`${ORIGIN}/api/uploads/abc`)).toBe('tabc');
    based.remove(`${ORIGIN}/api/uploads/abc`);
    expect(based.get('/api/uploads/abc')).toBeNull();

    const full = new MemoryStorage();
    full.failWrites = true;
    const mem = new ManageTokenStore(full);
    mem.set('u3', 't3');
    expect(mem.get('u3')).toBe('t3');
    mem.remove('u3');
    expect(mem.get('u3')).toBeNull();
  });
});

// TusUploader with the real tus-js-client (browser build); only its network (HttpStack) and its URL
// storage are replaced, by a small in-memory tus server and a Map.

import { describe, expect, it, vi } from 'vitest';
import type { HttpRequest, HttpResponse, HttpStack, PreviousUpload } from 'tus-js-client';
import { ABANDONED_MESSAGE, ApiError, NetworkError } from '../api';
import { MemoryStorage } from '../test-utils';
import {
  chooseResume,
  fingerprintOf,
  ManageTokenStore,
  resolveLocation,
  resultOf,
  shareIdOf,
  retryReasonOf,
  shouldRetry,
  toUploadError,
  TOKEN_KEY_PREFIX,
  TusUploader,
  uploadIdOf,
} from './tus-uploader';
import type { UploadCallbacks } from './uploader';

const ORIGIN = 'http://127.0.0.1:8080';

interface ServerUpload {
  length: number;
  offset: number;
  metadata: string;
  /** `Flick-Index-Offset` of the POST, if any. */
  indexOffset: string | undefined;
  /** The bytes received, in the order they came. */
  bytes: Uint8Array;
}

interface Seen {
  method: string;
  url: string;
  offset?: number;
  indexOffset?: string;
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
  deleteStatus = 204;
  /** Sends `Flick-Share-Url` with the POST's 201. */
  shareUrls = true;
  /** The share id of an upload's video (its links' id; the server may make it differ from the upload's). */
  shareIdFor: (uploadId: string) => string = (id) => id;

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
          const bytes = body instanceof Blob ? body.arrayBuffer().then((b) => new Uint8Array(b)) : Promise.resolve(null);
          void bytes.then((data) => {
            try {
              const out = this.handle(method, url, headers, data, progress);
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

  private handle(method: string, url: string, headers: Record<string, string>, body: Uint8Array | null, progress: (n: number) => void): HttpResponse | 'drop' | 'hang' {
    const path = new URL(url, ORIGIN).pathname;
    const offsetHeader = headers['upload-offset'];
    const indexOffset = headers['flick-index-offset'];
    this.seen.push({
      method,
      url: path,
      ...(offsetHeader !== undefined ? { offset: Number(offsetHeader) } : {}),
      ...(indexOffset !== undefined ? { indexOffset } : {}),
    });
    if (headers['tus-resumable'] !== '1.0.0') return response(412, {});
    if (method === 'POST' && path === '/api/uploads') {
      if (this.createStatus) return response(this.createStatus.status, {}, this.createStatus.body);
      const id = `vid${this.next++}`;
      const length = Number(headers['upload-length']);
      this.uploads.set(id, { length, offset: 0, metadata: headers['upload-metadata'] ?? '', indexOffset, bytes: new Uint8Array(length) });
      return response(201, {
        Location: `/api/uploads/${id}`,
        'Flick-Manage-Token': `token-${id}`,
        ...this.shareHeaders(id),
        'Upload-Offset': '0',
      });
    }
    const id = path.replace('/api/uploads/', '');
    const up = this.uploads.get(id);
    if (!up) return response(404, {}, JSON.stringify({ error: { code: 'not_found', message: 'Not found.' } }));
    if (method === 'HEAD') return response(200, { 'Upload-Offset': String(up.offset), 'Upload-Length': String(up.length), 'Cache-Control': 'no-store', ...this.shareHeaders(id) });
    if (method === 'DELETE') {
      if (this.deleteStatus !== 204) return response(this.deleteStatus, {});
      this.uploads.delete(id);
      return response(204, {});
    }
    if (method === 'PATCH') {
      const offset = Number(offsetHeader);
      if (offset !== up.offset) return response(409, {}, JSON.stringify({ error: { code: 'offset_mismatch', message: 'offset' } }));
      const size = body?.length ?? 0;
      const n = ++this.patches;
      const rule = this.onPatch(n, offset, size);
      if (rule?.kind === 'answer') return response(rule.status, {}, rule.body);
      if (rule?.kind === 'drop' || rule?.kind === 'hang') {
        progress(size);
        if (body) up.bytes.set(body.subarray(0, rule.keep), up.offset);
        up.offset += rule.keep;
        return rule.kind;
      }
      progress(size);
      if (body) up.bytes.set(body, up.offset);
      up.offset += size;
      return response(204, { 'Upload-Offset': String(up.offset), ...(up.offset === up.length ? this.shareHeaders(id) : {}) });
    }
    return response(405, {});
  }

  private shareHeaders(id: string): Record<string, string> {
    if (!this.shareUrls) return {};
    const share = this.shareIdFor(id);
    return { 'Flick-Share-Url': `/v/${share}`, 'Flick-Status-Url': `/api/video/${share}` };
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
  const uploader = new TusUploader({
    endpoint: '/api/uploads',
    chunkSize: CHUNK,
    retryDelays: [0, 0, 0, 0],
    tokens,
    httpStack: server,
    urlStorage,
    terminateAfterMs: 0,
    terminateRetryDelays: [0],
  });
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
    onCreated: vi.fn<NonNullable<UploadCallbacks['onCreated']>>(),
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

  it('says when a request waits for its retry, and why', async () => {
    const { server, uploader } = setup();
    server.onPatch = (n) => (n === 2 ? { kind: 'drop', keep: 0 } : n === 3 ? { kind: 'answer', status: 503, body: '' } : null);
    const { cb, ended } = callbacks();
    const onRetry = vi.fn<NonNullable<UploadCallbacks['onRetry']>>();
    uploader.start(clip(), { ...cb, onRetry });
    expect(await ended).toBe('success');
    expect(onRetry.mock.calls.map(([reason, attempt]) => [reason, attempt])).toEqual([
      ['network', 0],
      ['server', 1],
    ]);
  });

  it('when the browser says the connection is back, a retry waiting for its delay goes at once', async () => {
    const server = new FakeTusServer();
    const online = new EventTarget();
    const uploader = new TusUploader({
      endpoint: '/api/uploads',
      chunkSize: CHUNK,
      retryDelays: [60_000],
      tokens: new ManageTokenStore(new MemoryStorage(), undefined, `${ORIGIN}/`),
      httpStack: server,
      urlStorage: new MemoryUrlStorage(),
      connectivity: online,
    });
    server.onPatch = (n) => (n === 2 ? { kind: 'drop', keep: 0 } : null);
    const { cb, ended } = callbacks();
    const retried = new Promise<void>((r) => uploader.start(clip(), { ...cb, onRetry: () => r() }));
    await retried;
    await tick();
    expect(server.count('HEAD')).toBe(0); // still waiting out the minute
    online.dispatchEvent(new Event('online'));
    expect(await ended).toBe('success');
    expect(server.count('POST')).toBe(1);
    expect(server.count('HEAD')).toBe(1);
    // Once the upload ended, a later 'online' does nothing.
    online.dispatchEvent(new Event('online'));
    await tick();
    expect(server.count('HEAD')).toBe(1);
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

/** An MP4 with its index at the end: ftyp (24) + mdat (2400) + moov (300) = 2724 bytes, every byte numbered. */
function indexAtEnd(name = 'phone.mov'): { file: File; m: number; bytes: Uint8Array } {
  const sizes: Array<[string, number]> = [
    ['ftyp', 24],
    ['mdat', 2400],
    ['moov', 300],
  ];
  const bytes = new Uint8Array(2724).map((_, i) => (i * 7) % 251);
  const view = new DataView(bytes.buffer);
  let o = 0;
  for (const [type, size] of sizes) {
    view.setUint32(o, size);
    for (let i = 0; i < 4; i++) bytes[o + 4 + i] = type.charCodeAt(i);
    o += size;
  }
  return { file: new File([bytes], name, { type: 'video/quicktime', lastModified: 1_700_000_000_000 }), m: 2424, bytes };
}

describe('shareIdOf', () => {
  it('reads the id of a share link, relative or absolute', () => {
    expect(shareIdOf('/v/abc')).toBe('abc');
    expect(shareIdOf('https://videos.example/v/abc/')).toBe('abc');
    expect(shareIdOf('/api/uploads/abc')).toBeNull();
    expect(shareIdOf(null)).toBeNull();
  });
});

describe('TusUploader: the video exists from the first answer', () => {
  it('hands over the id, manage token and share URL as soon as the POST is answered, while the bytes still flow', async () => {
    const { server, uploader } = setup();
    let patchesWhenCreated = -1;
    const { cb, ended } = callbacks();
    cb.onCreated.mockImplementation(() => {
      patchesWhenCreated = server.patches;
    });
    uploader.start(clip(), cb);
    expect(await ended).toBe('success');
    expect(cb.onCreated).toHaveBeenCalledTimes(1);
    expect(cb.onCreated).toHaveBeenCalledWith({ id: 'vid1', manageToken: 'token-vid1', shareUrl: '/v/vid1', resumed: false });
    expect(patchesWhenCreated).toBe(0);
    expect(cb.onCreated.mock.invocationCallOrder[0]).toBeLessThan(cb.onSuccess.mock.invocationCallOrder[0]);
  });

  it("names the video by its share id (Flick-Share-Url), not by the upload's id", async () => {
    const server = new FakeTusServer();
    server.shareIdFor = (id) => `share-${id}`;
    const { uploader } = setup(server);
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    expect(await ended).toBe('success');
    expect(cb.onCreated).toHaveBeenCalledWith({ id: 'share-vid1', manageToken: 'token-vid1', shareUrl: '/v/share-vid1', resumed: false });
    expect(cb.onSuccess).toHaveBeenCalledWith(
      expect.objectContaining({ id: 'share-vid1', url: '/v/share-vid1', streamUrl: '/streams/share-vid1/master.m3u8' }),
    );
  });

  it('ends with the link the last answer names (the owner revoked it meanwhile)', async () => {
    const server = new FakeTusServer();
    server.onPatch = (n) => {
      if (n === 2) server.shareIdFor = () => 'fresh';
      return null;
    };
    const { uploader } = setup(server);
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    expect(await ended).toBe('success');
    expect(cb.onCreated.mock.calls[0][0].id).toBe('vid1');
    expect(cb.onSuccess).toHaveBeenCalledWith(expect.objectContaining({ id: 'fresh', url: '/v/fresh' }));
  });

  it('builds the share URL itself when the server does not send one', async () => {
    const server = new FakeTusServer();
    server.shareUrls = false;
    const { uploader } = setup(server);
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    await ended;
    expect(cb.onCreated.mock.calls[0][0].shareUrl).toBe('/v/vid1');
  });

  it('a refusal after creation (not a video: 415) reaches the caller as an error, after onCreated', async () => {
    const { server, uploader, storage } = setup();
    server.onPatch = () => ({ kind: 'answer', status: 415, body: JSON.stringify({ error: { code: 'unsupported_media_type', message: 'This is not a video file.' } }) });
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    expect(await ended).toBe('error');
    expect(cb.onCreated).toHaveBeenCalledTimes(1);
    expect(cb.onError.mock.calls[0][0]).toMatchObject({ status: 415, code: 'unsupported_media_type', message: 'This is not a video file.' });
    expect(storage.length).toBe(0);
  });

  it('an upload deleted on the server mid-way ends as abandoned, and no second upload is created', async () => {
    const { server, uploader } = setup();
    server.onPatch = (n) => {
      if (n === 2) {
        server.uploads.delete('vid1'); // deleted from another tab with the manage token
        return { kind: 'drop', keep: 0 };
      }
      return null;
    };
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    expect(await ended).toBe('error');
    expect(server.count('POST')).toBe(1);
    expect(server.count('HEAD')).toBe(1);
    expect(cb.onError.mock.calls[0][0]).toMatchObject({ code: 'upload_abandoned', message: ABANDONED_MESSAGE });
  });

  it('a PATCH answered 404 after creation reads as abandoned too', async () => {
    const { server, uploader } = setup();
    server.onPatch = (n) => (n === 2 ? { kind: 'answer', status: 404, body: JSON.stringify({ error: { code: 'not_found', message: 'Not found.' } }) } : null);
    const { cb, ended } = callbacks();
    uploader.start(clip(), cb);
    expect(await ended).toBe('error');
    expect(cb.onError.mock.calls[0][0].message).toBe(ABANDONED_MESSAGE);
  });

  it('after a reload, the resumed upload is announced as the same video', async () => {
    const server = new FakeTusServer();
    const urlStorage = new MemoryUrlStorage();
    const storage = new MemoryStorage();
    server.onPatch = (n) => (n === 2 ? { kind: 'hang', keep: 300 } : null);
    setup(server, urlStorage, storage).uploader.start(clip(), callbacks().cb);
    await vi.waitFor(() => expect(server.patches).toBe(2));
    server.onPatch = () => null;
    const { cb, ended } = callbacks();
    setup(server, urlStorage, storage).uploader.start(clip(), cb);
    expect(await ended).toBe('success');
    expect(cb.onCreated).toHaveBeenCalledTimes(1);
    expect(cb.onCreated).toHaveBeenCalledWith({ id: 'vid1', manageToken: 'token-vid1', shareUrl: '/v/vid1', resumed: true });
  });

  it('cancel says whether the server let go of the upload', async () => {
    const { server, uploader } = setup();
    server.onPatch = (n) => (n === 2 ? { kind: 'hang', keep: 0 } : null);
    const handle = uploader.start(clip(), callbacks().cb);
    await vi.waitFor(() => expect(server.patches).toBe(2));
    await expect(handle.abort()).resolves.toBe(true);
    expect(server.uploads.size).toBe(0);

    const other = setup();
    other.server.deleteStatus = 500;
    other.server.onPatch = (n) => (n === 1 ? { kind: 'hang', keep: 0 } : null);
    const h2 = other.uploader.start(clip(), callbacks().cb);
    await vi.waitFor(() => expect(other.server.patches).toBe(1));
    await expect(h2.abort()).resolves.toBe(false);
    expect(other.server.uploads.size).toBe(1);
  });

  it('cancel before anything was sent: nothing on the server', async () => {
    const { server, uploader } = setup();
    const { cb } = callbacks();
    const handle = uploader.start(clip(), cb);
    await expect(handle.abort()).resolves.toBe(true);
    expect(cb.onAbort).toHaveBeenCalledTimes(1);
    await tick();
    expect(server.seen).toEqual([]);
  });
});

describe('TusUploader: index first', () => {
  it('sends the index first: Flick-Index-Offset on the POST only, tail then head, full length', async () => {
    const { server, uploader } = setup();
    const { file, m, bytes } = indexAtEnd();
    const { cb, ended } = callbacks();
    uploader.start(file, cb, { maxIndexBytes: 1000 });
    expect(await ended).toBe('success');
    const post = server.seen.find((x) => x.method === 'POST')!;
    expect(post.indexOffset).toBe(String(m));
    expect(server.seen.filter((x) => x.method !== 'POST').every((x) => x.indexOffset === undefined)).toBe(true);
    const up = server.uploads.get('vid1')!;
    expect(up.length).toBe(file.size);
    const expected = new Uint8Array([...bytes.slice(m), ...bytes.slice(0, m)]);
    expect(up.bytes).toEqual(expected);
    // The file's own name and type, not the reordered Blob's.
    expect(up.metadata).toContain(`filename ${btoa('phone.mov')}`);
    expect(up.metadata).toContain(`filetype ${btoa('video/quicktime')}`);
    expect(cb.onProgress).toHaveBeenLastCalledWith(file.size, file.size);
  });

  it('uploads plainly when the server does not offer it or the index is too big', async () => {
    for (const maxIndexBytes of [undefined, null, 299]) {
      const { server, uploader } = setup();
      const { file, bytes } = indexAtEnd();
      const { cb, ended } = callbacks();
      uploader.start(file, cb, { maxIndexBytes });
      expect(await ended).toBe('success');
      expect(server.seen[0].indexOffset).toBeUndefined();
      expect(server.uploads.get('vid1')!.bytes).toEqual(bytes);
    }
  });

  it('resumes an index-first upload after a reload (its fingerprint includes the offset)', async () => {
    const server = new FakeTusServer();
    const urlStorage = new MemoryUrlStorage();
    const storage = new MemoryStorage();
    const { file, m, bytes } = indexAtEnd();
    server.onPatch = (n) => (n === 2 ? { kind: 'hang', keep: 500 } : null);
    setup(server, urlStorage, storage).uploader.start(file, callbacks().cb, { maxIndexBytes: 1000 });
    await vi.waitFor(() => expect(server.patches).toBe(2));
    expect([...urlStorage.entries.values()][0].fingerprint).toBe(fingerprintOf(file, '/api/uploads', m));

    // The same file picked again after a reload.
    server.onPatch = () => null;
    const again = indexAtEnd().file;
    const { cb, ended } = callbacks();
    setup(server, urlStorage, storage).uploader.start(again, cb, { maxIndexBytes: 1000 });
    expect(await ended).toBe('success');
    expect(server.count('POST')).toBe(1);
    expect(cb.onRestart).toHaveBeenCalledWith(1500, file.size);
    expect(server.uploads.get('vid1')!.bytes).toEqual(new Uint8Array([...bytes.slice(m), ...bytes.slice(0, m)]));
  });

  it('a plain upload of the same file is a different upload (different fingerprint)', () => {
    const { file, m } = indexAtEnd();
    expect(fingerprintOf(file, '/api/uploads', null)).toBe(`tus-br-phone.mov-video/quicktime-2724-1700000000000-/api/uploads`);
    expect(fingerprintOf(file, '/api/uploads', m)).not.toBe(fingerprintOf(file, '/api/uploads', null));
    expect(fingerprintOf(file, '/api/uploads', m)).toContain(String(m));
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
    expect(retryReasonOf(new Error('network'))).toBe('network');
    expect(retryReasonOf(withStatus(0))).toBe('network');
    expect(retryReasonOf(withStatus(503))).toBe('server');
    expect(retryReasonOf(withStatus(423))).toBe('server');
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

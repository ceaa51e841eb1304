import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError } from '../api';
import { XhrUploader } from './xhr-uploader';

class FakeXhr {
  static last: FakeXhr;
  method = '';
  url = '';
  body: FormData | null = null;
  status = 0;
  responseText = '';
  responseType = '';
  headers: Record<string, string> = {};
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  onabort: (() => void) | null = null;
  aborted = false;
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  send(body: FormData) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  answer(status: number, text: string) {
    this.status = status;
    this.responseText = text;
    this.onload?.();
  }
}

function callbacks() {
  return { onProgress: vi.fn(), onSuccess: vi.fn(), onError: vi.fn(), onAbort: vi.fn() };
}

describe('XhrUploader', () => {
  beforeEach(() => vi.stubGlobal('XMLHttpRequest', FakeXhr));
  afterEach(() => vi.unstubAllGlobals());

  it('POSTs the file as the multipart field "file" and reports progress, then the result', () => {
    const cb = callbacks();
    const file = new File(['abc'], 'clip.mp4');
    new XhrUploader().start(file, cb);
    const xhr = FakeXhr.last;
    expect(xhr.method).toBe('POST');
    expect(xhr.url).toBe('/api/upload');
    expect((xhr.body!.get('file') as File).name).toBe('clip.mp4');
    xhr.upload.onprogress!({ loaded: 2, total: 3, lengthComputable: true });
    expect(cb.onProgress).toHaveBeenCalledWith(2, 3);
    xhr.answer(201, '{"id":"abc","url":"/v/abc","manageToken":"t"}');
    expect(cb.onSuccess).toHaveBeenCalledWith(expect.objectContaining({ id: 'abc', manageToken: 't' }));
    expect(cb.onError).not.toHaveBeenCalled();
  });

  it("passes on the server's error message", () => {
    const cb = callbacks();
    new XhrUploader().start(new File(['x'], 'a.mp4'), cb);
    FakeXhr.last.answer(413, '{"error":{"code":"too_large","message":"The file is larger than the 1 GB limit."}}');
    const err = cb.onError.mock.calls[0][0] as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('too_large');
    expect(err.message).toBe('The file is larger than the 1 GB limit.');
  });

  it('reports a dropped connection as a NetworkError', () => {
    const cb = callbacks();
    new XhrUploader().start(new File(['x'], 'a.mp4'), cb);
    FakeXhr.last.onerror!();
    expect(cb.onError.mock.calls[0][0]).toBeInstanceOf(NetworkError);
  });

  it('aborts once, and nothing follows an abort', () => {
    const cb = callbacks();
    const handle = new XhrUploader().start(new File(['x'], 'a.mp4'), cb);
    handle.abort();
    handle.abort();
    expect(FakeXhr.last.aborted).toBe(true);
    expect(cb.onAbort).toHaveBeenCalledTimes(1);
    FakeXhr.last.answer(201, '{}');
    expect(cb.onSuccess).not.toHaveBeenCalled();
  });
});

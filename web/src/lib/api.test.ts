import { describe, expect, it, vi } from 'vitest';
import { Api, ApiError, isPasswordRequired, NetworkError, parseError, parseRetryAfter, shareLink } from './api';

describe('parseError', () => {
  it("reads the server's {error:{code,message}}", () => {
    const e = parseError(413, '{"error":{"code":"too_large","message":"The file is larger than 1 GB."}}');
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(413);
    expect(e.code).toBe('too_large');
    expect(e.message).toBe('The file is larger than 1 GB.');
  });
  it('falls back to a sentence for anything else', () => {
    expect(parseError(502, '<html>Bad gateway</html>').message).toBe('The server answered with an error (502).');
    expect(parseError(415, '').message).toBe('This file type is not supported.');
    expect(parseError(404, 'null').notFound).toBe(true);
    expect(parseError(500, '{"error":"x"}').code).toBe('http_500');
  });
});

describe('Api', () => {
  it('sends the manage token as a bearer token on delete', async () => {
    const fetchMock = vi.fn(async () => new Response(null, { status: 204 }));
    await new Api(fetchMock).deleteVideo('abc', 'tok');
    expect(fetchMock).toHaveBeenCalledWith('/api/video/abc', expect.objectContaining({ method: 'DELETE', headers: { Authorization: 'Bearer tok' } }));
  });
  it('turns error answers into ApiError and failed requests into NetworkError', async () => {
    const notFound = new Api(async () => new Response('{"error":{"code":"not_found","message":"No such video."}}', { status: 404 }));
    await expect(notFound.video('x')).rejects.toMatchObject({ status: 404, code: 'not_found', message: 'No such video.' });
    const offline = new Api(async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(offline.config()).rejects.toBeInstanceOf(NetworkError);
  });
  it('reads the admin listing', async () => {
    const api = new Api(async () => Response.json({ videos: [{ id: 'a' }] }));
    expect(await api.adminVideos('t')).toEqual([{ id: 'a' }]);
  });
});

describe('Api: the owner and the password', () => {
  it("asks for the owner's view with the manage token, and for a viewer's without", async () => {
    const fetchMock = vi.fn(async () => Response.json({ id: 'abc', passwordRequired: true }));
    const api = new Api(fetchMock);
    const answer = await api.video('abc');
    expect(isPasswordRequired(answer)).toBe(true);
    expect(fetchMock).toHaveBeenLastCalledWith('/api/video/abc', expect.objectContaining({ headers: {} }));
    await api.video('abc', undefined, 'tok');
    expect(fetchMock).toHaveBeenLastCalledWith('/api/video/abc', expect.objectContaining({ headers: { Authorization: 'Bearer tok' } }));
  });

  it('PATCHes the settings as JSON, revokes, and unlocks', async () => {
    const fetchMock = vi.fn(async (path: string) =>
      path.endsWith('/unlock') ? new Response(null, { status: 204 }) : Response.json(path.endsWith('/revoke') ? { id: 'new' } : { id: 'abc', title: 'T' }),
    );
    const api = new Api(fetchMock as unknown as typeof fetch);
    expect(await api.updateVideo('abc', 'tok', { title: 'T', password: null })).toMatchObject({ title: 'T' });
    expect(fetchMock).toHaveBeenLastCalledWith(
      '/api/video/abc',
      expect.objectContaining({
        method: 'PATCH',
        headers: { Authorization: 'Bearer tok', 'Content-Type': 'application/json' },
        body: '{"title":"T","password":null}',
      }),
    );
    expect(await api.revokeLink('abc', 'tok')).toEqual({ id: 'new' });
    expect(fetchMock).toHaveBeenLastCalledWith('/api/video/abc/revoke', expect.objectContaining({ method: 'POST', headers: { Authorization: 'Bearer tok' } }));
    await api.unlock('abc', 'pw');
    expect(fetchMock).toHaveBeenLastCalledWith('/api/video/abc/unlock', expect.objectContaining({ method: 'POST', body: '{"password":"pw"}', credentials: 'same-origin' }));
  });

  it('says how long to wait after too many tries (Retry-After)', async () => {
    const api = new Api(
      async () =>
        new Response('{"error":{"code":"too_many_attempts","message":"Too many attempts."}}', { status: 429, headers: { 'Retry-After': '42' } }),
    );
    await expect(api.unlock('abc', 'x')).rejects.toMatchObject({ status: 429, code: 'too_many_attempts', retryAfterSeconds: 42 });
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 1000)).toBe(9);
  });

  it("unlocks for the owner with the manage token, without the password", async () => {
    const fetchMock = vi.fn(async () => new Response(null, { status: 204 }));
    await new Api(fetchMock).unlock('abc', null, 'tok');
    expect(fetchMock).toHaveBeenCalledWith(
      '/api/video/abc/unlock',
      expect.objectContaining({ method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok' } }),
    );
  });
});

describe('shareLink', () => {
  it('is origin + /v/ + id', () => {
    expect(shareLink('abc', 'https://flick.example')).toBe('https://flick.example/v/abc');
  });
});

describe('Api: captions', () => {
  it('POSTs the file as it is, with the language and the label in the query', async () => {
    const caption = { lang: 'pt-BR', label: 'Português (Brasil)', url: '/captions/abc/pt-BR.vtt' };
    const fetchMock = vi.fn(async () => Response.json(caption, { status: 201 }));
    const file = new Blob(['1\n00:00:01,000 --> 00:00:02,000\nOlá\n']);
    expect(await new Api(fetchMock).addCaption('a/b', 'tok', file, 'pt-BR', 'Português (Brasil)', 'application/x-subrip')).toEqual(caption);
    expect(fetchMock).toHaveBeenCalledWith(
      '/api/video/a%2Fb/captions?lang=pt-BR&label=Portugu%C3%AAs+%28Brasil%29',
      expect.objectContaining({ method: 'POST', body: file, headers: { Authorization: 'Bearer tok', 'Content-Type': 'application/x-subrip' } }),
    );
  });

  it('DELETEs a track by its language, and reads refusals', async () => {
    const fetchMock = vi.fn(async () => new Response(null, { status: 204 }));
    await new Api(fetchMock).removeCaption('abc', 'tok', 'en-GB');
    expect(fetchMock).toHaveBeenCalledWith('/api/video/abc/captions/en-GB', expect.objectContaining({ method: 'DELETE', headers: { Authorization: 'Bearer tok' } }));
    const refused = new Api(async () => new Response('{"error":{"code":"invalid_captions","message":"Line 3: not a cue time."}}', { status: 400 }));
    await expect(refused.addCaption('abc', 'tok', new Blob(['x']), 'en', 'English', 'text/vtt')).rejects.toMatchObject({
      status: 400,
      code: 'invalid_captions',
      message: 'Line 3: not a cue time.',
    });
  });
});

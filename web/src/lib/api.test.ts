import { describe, expect, it, vi } from 'vitest';
import { Api, ApiError, NetworkError, parseError, shareLink } from './api';

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

describe('shareLink', () => {
  it('is origin + /v/ + id', () => {
    expect(shareLink('abc', 'https://flick.example')).toBe('https://flick.example/v/abc');
  });
});

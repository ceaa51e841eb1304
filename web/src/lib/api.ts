// A typed client for Flick's HTTP API (docs/api.md). Everything is same-origin and relative.

export type VideoStatus = 'uploading' | 'processing' | 'ready' | 'error';

export interface ApiErrorBody {
  code: string;
  message: string;
}

/** `GET /api/video/{id}` */
export interface Video {
  id: string;
  title: string;
  status: VideoStatus;
  /** Playback can start at 0:00 now (during the upload too, once its first seconds are in). */
  playable: boolean;
  /** Seconds playable from 0:00 right now (0 when not playable). */
  playableSeconds?: number | null;
  /** Processing progress, 0..1 (meaningful in `processing`). */
  progress: number;
  /** Bytes the server holds (`sizeBytes` once the upload is complete). */
  receivedBytes?: number | null;
  url: string;
  streamUrl: string;
  thumbnailUrl: string | null;
  /** Known shortly after the upload starts (once the index is read); null before. */
  durationSeconds: number | null;
  width: number | null;
  height: number | null;
  sizeBytes: number;
  createdAt: string;
  error: ApiErrorBody | null;
}

/** `GET /api/config` */
export interface PublicConfig {
  maxUploadBytes: number;
  allowedExtensions: string[];
  adminEnabled: boolean;
  /**
   * The largest index (`moov` box and what follows it) the server takes first in an index-first tus
   * upload (`Flick-Index-Offset`); absent on servers that do not offer it.
   */
  maxIndexBytes?: number | null;
}

/** The `201` answer of `POST /api/upload`. */
export interface UploadResult {
  id: string;
  url: string;
  statusUrl: string;
  streamUrl: string;
  thumbnailUrl: string | null;
  manageToken: string;
}

/** An HTTP answer that was not a success, with the server's message when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}

/** The request never got an answer (offline, server down, aborted). */
export class NetworkError extends Error {
  constructor(message = 'Could not reach the server. Check your connection and try again.') {
    super(message);
    this.name = 'NetworkError';
  }
}

/** The error code of an upload that was cancelled, deleted while it ran, or left to expire. */
export const UPLOAD_ABANDONED = 'upload_abandoned';
export const ABANDONED_MESSAGE = 'The upload was cancelled or abandoned.';

const FALLBACK_MESSAGES: Record<number, string> = {
  401: 'You are not allowed to do that.',
  403: 'You are not allowed to do that.',
  404: 'Not found.',
  413: 'The file is too large.',
  415: 'This file type is not supported.',
  507: 'The server is out of storage space. Try again later.',
};

/** Reads `{"error":{"code","message"}}` from an error body; falls back to a sentence for the status. */
export function parseError(status: number, bodyText: string | null | undefined): ApiError {
  let code = 'http_' + status;
  let message = FALLBACK_MESSAGES[status] ?? `The server answered with an error (${status}).`;
  if (bodyText) {
    try {
      const body = JSON.parse(bodyText) as { error?: Partial<ApiErrorBody> };
      if (body && typeof body === 'object' && body.error && typeof body.error === 'object') {
        if (typeof body.error.code === 'string' && body.error.code) code = body.error.code;
        if (typeof body.error.message === 'string' && body.error.message) message = body.error.message;
      }
    } catch {
      // not JSON: keep the fallback
    }
  }
  return new ApiError(status, code, message);
}

type Fetch = typeof fetch;

export class Api {
  constructor(private readonly fetchImpl: Fetch = (...args) => fetch(...args)) {}

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchImpl(path, { credentials: 'same-origin', cache: 'no-store', ...init });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw new NetworkError();
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw parseError(res.status, text);
    }
    return res;
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await this.request(path, init);
    return (await res.json()) as T;
  }

  config(signal?: AbortSignal): Promise<PublicConfig> {
    return this.json<PublicConfig>('/api/config', { signal });
  }

  video(id: string, signal?: AbortSignal): Promise<Video> {
    return this.json<Video>(`/api/video/${encodeURIComponent(id)}`, { signal });
  }

  async deleteVideo(id: string, manageToken: string): Promise<void> {
    await this.request(`/api/video/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${manageToken}` },
    });
  }

  async adminVideos(adminToken: string, limit = 100, offset = 0, signal?: AbortSignal): Promise<Video[]> {
    const body = await this.json<{ videos: Video[] }>(`/api/videos?limit=${limit}&offset=${offset}`, {
      headers: { Authorization: `Bearer ${adminToken}` },
      signal,
    });
    return body.videos;
  }
}

export const api = new Api();

/** The absolute share link of a video. */
export function shareLink(id: string, origin: string = location.origin): string {
  return `${origin}/v/${id}`;
}

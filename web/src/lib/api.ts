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
  /** The original file as uploaded, when its owner (or the site's default) lets viewers download it (absent or null otherwise). */
  downloadUrl?: string | null;
  /** WebVTT thumbnail track for seek-bar previews (cues point at sprite JPEGs with `#xywh=`), once made; else null. */
  storyboardUrl?: string | null;
  /** Caption tracks the owner added, in the order added. */
  captions?: Caption[];
  /** The embeddable player page (`/embed/{id}`), for an `<iframe>`. */
  embedUrl?: string;
  /** Known shortly after the upload starts (once the index is read); null before. */
  durationSeconds: number | null;
  width: number | null;
  height: number | null;
  sizeBytes: number;
  createdAt: string;
  error: ApiErrorBody | null;
  // The owner's view only (`GET` or `PATCH /api/video/{id}` with the manage token):
  /** Viewers must give a password. */
  passwordProtected?: boolean;
  /** When the link stops working for everyone (RFC 3339), or null: never. */
  expiresAt?: string | null;
  /** How many views are allowed, or null: no limit. */
  maxViews?: number | null;
  /** Views still allowed, or null: no limit. */
  viewsLeft?: number | null;
  /** Viewers may download the original (this video's own setting, else the site's default). */
  allowDownload?: boolean;
}

/** A caption track: `POST /api/video/{id}/captions?lang=…&label=…` answers one (201). */
export interface Caption {
  /** BCP 47 language tag, e.g. `en`, `pt-BR`: unique per video (adding one again replaces it). */
  lang: string;
  /** What the player's captions menu shows, e.g. `English`. */
  label: string;
  /** The WebVTT file (plain cue times from 0:00), for a `<track>` element. */
  url: string;
}

/** `GET /api/video/{id}` of a password-protected video, asked without proof: nothing else is told. */
export interface PasswordRequired {
  id: string;
  passwordRequired: true;
}

/** What `GET /api/video/{id}` answers. */
export type VideoAnswer = Video | PasswordRequired;

export function isPasswordRequired(v: VideoAnswer): v is PasswordRequired {
  return (v as Partial<PasswordRequired>).passwordRequired === true;
}

/**
 * `PATCH /api/video/{id}` (with the manage token): what to change; a key left out stays as it is,
 * `null` removes the password, the expiry or the view limit.
 */
export interface LinkUpdate {
  title?: string;
  password?: string | null;
  /** RFC 3339, in the future. */
  expiresAt?: string | null;
  /** ≥ 1; setting it starts counting views from zero. */
  maxViews?: number | null;
  /** Let viewers download the original (a Download button on the share page). */
  allowDownload?: boolean;
}

/** `POST /api/video/{id}/revoke`: the video's new link (the old one answers 404 from then on). */
export interface NewLink {
  id: string;
  url: string;
  statusUrl: string;
  streamUrl: string;
  thumbnailUrl: string | null;
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
    /** From `Retry-After` (seconds), when the server said when to try again. */
    readonly retryAfterSeconds: number | null = null,
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

/** `Retry-After` in seconds (a number of seconds or an HTTP date); null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value == null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number.parseInt(text, 10);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Reads `{"error":{"code","message"}}` from an error body; falls back to a sentence for the status. */
export function parseError(status: number, bodyText: string | null | undefined, retryAfter: string | null = null): ApiError {
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
  return new ApiError(status, code, message, parseRetryAfter(retryAfter));
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
      throw parseError(res.status, text, res.headers.get('Retry-After'));
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

  /**
   * A video's status. With its manage token: the owner's view (with the link settings; no password
   * needed). Without: a password-protected video this browser has not unlocked answers only
   * `{id, passwordRequired: true}`.
   */
  video(id: string, signal?: AbortSignal, manageToken?: string | null): Promise<VideoAnswer> {
    const headers: Record<string, string> = manageToken ? { Authorization: `Bearer ${manageToken}` } : {};
    return this.json<VideoAnswer>(`/api/video/${encodeURIComponent(id)}`, { signal, headers });
  }

  /** Changes the title and who may watch (owner only); answers the owner's view. */
  updateVideo(id: string, manageToken: string, update: LinkUpdate): Promise<Video> {
    return this.json<Video>(`/api/video/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${manageToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(update),
    });
  }

  /** Gives the video a new link; the old one stops working for everyone. The manage token stays valid. */
  revokeLink(id: string, manageToken: string): Promise<NewLink> {
    return this.json<NewLink>(`/api/video/${encodeURIComponent(id)}/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${manageToken}` },
    });
  }

  /**
   * Proves the password of a protected video: the server answers with a cookie (HttpOnly) that goes
   * with every later request for the video (status, playlists, segments, thumbnail). Its owner gets
   * the cookie with the manage token instead of the password (`password` null).
   */
  async unlock(id: string, password: string | null, manageToken?: string | null): Promise<void> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (manageToken) headers.Authorization = `Bearer ${manageToken}`;
    await this.request(`/api/video/${encodeURIComponent(id)}/unlock`, {
      method: 'POST',
      headers,
      body: JSON.stringify(password === null ? {} : { password }),
    });
  }

  /**
   * Adds a caption track (owner only): the body is the SRT or WebVTT file as it is; the server
   * converts it to WebVTT. A `lang` the video already has is replaced.
   */
  addCaption(id: string, manageToken: string, file: Blob, lang: string, label: string, contentType: string): Promise<Caption> {
    const query = new URLSearchParams({ lang, label });
    return this.json<Caption>(`/api/video/${encodeURIComponent(id)}/captions?${query}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${manageToken}`, 'Content-Type': contentType },
      body: file,
    });
  }

  /** Removes a caption track (owner only). */
  async removeCaption(id: string, manageToken: string, lang: string): Promise<void> {
    await this.request(`/api/video/${encodeURIComponent(id)}/captions/${encodeURIComponent(lang)}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${manageToken}` },
    });
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

// Resumable uploads over tus 1.0.0 (`/api/uploads`, docs/api.md) with tus-js-client.
//
// - Chunks of 8 MiB; every failed request is retried (network errors even while the browser says it is
//   offline, 5xx, 409 and 423) after growing delays, and each retry first asks the server (`HEAD`) how
//   much it has, so a dropped connection costs at most the bytes in flight.
// - tus-js-client keeps the upload's URL in localStorage under the file's fingerprint (name, type, size,
//   last modified): picking the same file after a reload resumes it. The manage token only comes with
//   the `POST` that created the upload, so it is kept next to it (keyed by the upload URL) until the
//   upload ends; an upload whose token is gone is not resumed (it could never be deleted).
// - The video exists from the `POST`'s `201` on: `onCreated` hands it over (id, manage token, share URL)
//   while the bytes keep flowing. The video's id is its share id, the one in `Flick-Share-Url` (its
//   links use it; it is not the upload's id, and it changes when the owner revokes the link); only a
//   server that does not send that header gets the upload's id.
// - Index-first (index-first.ts): when the file's index sits at its end and the server takes it
//   (`maxIndexBytes`), the bytes go tail first (`Flick-Index-Offset: M` on the `POST`); the offset is
//   part of the fingerprint, so a reload resumes the same reordered upload.
// - While a failed request waits for its retry, `onRetry` says so (the page shows "retrying"); when the
//   browser reports the connection back (`online`), the retry goes at once.
// - Once this page has an upload on the server, losing it (deleted from another tab, expired) ends
//   the transfer with a clear error: tus-js-client would otherwise quietly create a new upload.

import * as tus from 'tus-js-client';
import { ABANDONED_MESSAGE, ApiError, NetworkError, parseError, UPLOAD_ABANDONED, type UploadResult } from '../api';
import { browserStorage } from '../library.svelte';
import { planIndexFirst, reorderForIndexFirst } from './index-first';
import type { RetryReason, UploadCallbacks, UploadCreated, UploadHandle, UploadOptions, Uploader } from './uploader';
import { uploadTypeOf } from './validate';

export const TUS_ENDPOINT = '/api/uploads';
export const CHUNK_SIZE = 8 * 1024 * 1024;
/** About six minutes of retrying before giving up (the counter restarts whenever bytes get through). */
export const RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000, 10_000, 15_000, 20_000, 30_000, 30_000, 60_000, 60_000, 60_000, 60_000];
export const MANAGE_TOKEN_HEADER = 'Flick-Manage-Token';
export const SHARE_URL_HEADER = 'Flick-Share-Url';
export const INDEX_OFFSET_HEADER = 'Flick-Index-Offset';
/** How long a cancelled upload's DELETE waits for the server to see the aborted PATCH end. */
export const TERMINATE_AFTER_MS = 300;
/** A cancel should not spin for minutes: termination is tried a few times, then left to expiry. */
export const TERMINATE_RETRY_DELAYS = [0, 1000, 3000, 5000];
export const TOKEN_KEY_PREFIX = 'flick.upload-token.v1:';
/** Tokens of uploads that never finished are forgotten after this long (the server expires them sooner). */
const TOKEN_MAX_AGE_MS = 3 * 24 * 3600 * 1000;

/**
 * The manage tokens of unfinished uploads, in localStorage, keyed by the (absolute) upload URL. Without
 * storage it still remembers them for this page's lifetime.
 */
export class ManageTokenStore {
  private readonly memory = new Map<string, string>();

  constructor(
    private readonly storage: Storage | null = browserStorage('local'),
    private readonly now: () => number = () => Date.now(),
    /** What relative upload URLs are relative to (tus-js-client may keep `/api/uploads/{id}` as it is). */
    private readonly base: string = globalThis.location?.href ?? 'http://localhost/',
  ) {}

  /** The same key for `/api/uploads/x` and `https://host/api/uploads/x`. */
  private keyOf(url: string): string {
    try {
      return new URL(url, this.base).href;
    } catch {
      return url;
    }
  }

  get(url: string): string | null {
    url = this.keyOf(url);
    const key = TOKEN_KEY_PREFIX + url;
    try {
      const raw = this.storage?.getItem(key);
      if (raw) {
        const data = JSON.parse(raw) as { token?: unknown };
        if (typeof data?.token === 'string' && data.token) return data.token;
      }
    } catch {
      // unreadable: fall back to memory
    }
    return this.memory.get(url) ?? null;
  }

  set(url: string, token: string): void {
    url = this.keyOf(url);
    this.memory.set(url, token);
    this.prune();
    try {
      this.storage?.setItem(TOKEN_KEY_PREFIX + url, JSON.stringify({ token, savedAt: this.now() }));
    } catch {
      // full or unavailable: this page still has it in memory
    }
  }

  remove(url: string): void {
    url = this.keyOf(url);
    this.memory.delete(url);
    try {
      this.storage?.removeItem(TOKEN_KEY_PREFIX + url);
    } catch {
      // nothing more to do
    }
  }

  /** Drops tokens kept for uploads that are long expired on the server. */
  private prune(): void {
    if (!this.storage) return;
    try {
      const stale: string[] = [];
      for (let i = 0; i < this.storage.length; i++) {
        const key = this.storage.key(i);
        if (!key?.startsWith(TOKEN_KEY_PREFIX)) continue;
        let savedAt = 0;
        try {
          savedAt = Number((JSON.parse(this.storage.getItem(key) ?? '') as { savedAt?: unknown }).savedAt) || 0;
        } catch {
          // unreadable: stale
        }
        if (this.now() - savedAt > TOKEN_MAX_AGE_MS) stale.push(key);
      }
      for (const key of stale) this.storage.removeItem(key);
    } catch {
      // storage unavailable
    }
  }
}

/** `https://host/api/uploads/{id}` → `{id}`. */
export function uploadIdOf(url: string): string {
  const path = new URL(url, 'http://x').pathname.replace(/\/+$/, '');
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

/** `/v/{id}` or `https://host/v/{id}` → `{id}`; null for anything else. */
export function shareIdOf(shareUrl: string | null | undefined): string | null {
  if (!shareUrl) return null;
  try {
    const m = /^\/v\/([^/]+)\/?$/.exec(new URL(shareUrl, 'http://x').pathname);
    return m ? decodeURIComponent(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Where a `Location` answered to a request sent to `requestUrl` points: absolute when either is, else
 * a path (a relative endpoint gives relative upload URLs; ManageTokenStore resolves them against the page).
 */
export function resolveLocation(location: string, requestUrl: string): string {
  try {
    return new URL(location, requestUrl).href;
  } catch {
    // `requestUrl` is relative too
  }
  const resolved = new URL(location, new URL(requestUrl, 'http://relative.invalid'));
  return resolved.origin === 'http://relative.invalid' ? resolved.pathname + resolved.search : resolved.href;
}

/** Which earlier upload of the same file to resume: the newest one whose manage token we still hold. */
export function chooseResume(previous: tus.PreviousUpload[], tokens: Pick<ManageTokenStore, 'get'>): tus.PreviousUpload | null {
  const usable = previous.filter((p) => p.uploadUrl && tokens.get(p.uploadUrl));
  usable.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime));
  return usable[0] ?? null;
}

/**
 * Whether a failed request is worth another try: no answer at all (a dropped connection — also while
 * the browser reports being offline, unlike tus-js-client's default, since the retry waits anyway), a
 * server error, 409 (offset mismatch: the retry asks for the offset) or 423 (locked: another request
 * still holds the upload). Other 4xx are final.
 */
export function shouldRetry(err: tus.DetailedError | Error): boolean {
  const res = (err as tus.DetailedError).originalResponse;
  const status = res ? res.getStatus() : 0;
  return status < 400 || status >= 500 || status === 409 || status === 423;
}

/** Why a request is retried: it got no answer at all, or the server answered with a passing refusal. */
export function retryReasonOf(err: tus.DetailedError | Error): RetryReason {
  const res = (err as tus.DetailedError).originalResponse;
  return res && res.getStatus() > 0 ? 'server' : 'network';
}

/** The error to show: the server's own message when it answered, else a connection problem. */
export function toUploadError(err: tus.DetailedError | Error): Error {
  const res = (err as tus.DetailedError).originalResponse;
  const status = res ? res.getStatus() : 0;
  if (res && status >= 400) return parseError(status, safeBody(res));
  if (status === 0) return new NetworkError('The upload was interrupted. Check your connection and try again.');
  return new Error('The server gave an answer the upload could not use. Try again.');
}

function safeBody(res: tus.HttpResponse): string {
  try {
    return res.getBody() ?? '';
  } catch {
    return '';
  }
}

/**
 * What the upload page gets when the last byte is in: the same shape as `POST /api/upload`'s answer,
 * for the video `videoId` (its share id; the upload's id when the server did not name one).
 */
export function resultOf(uploadUrl: string, manageToken: string, videoId?: string | null): UploadResult {
  const id = videoId || uploadIdOf(uploadUrl);
  const safe = encodeURIComponent(id);
  return {
    id,
    url: `/v/${safe}`,
    statusUrl: `/api/video/${safe}`,
    streamUrl: `/streams/${safe}/master.m3u8`,
    thumbnailUrl: `/thumbnails/${safe}.jpg`,
    manageToken,
  };
}

/** The error for an upload the server had and no longer has (deleted, cancelled elsewhere, expired). */
export function abandonedError(status = 404): ApiError {
  return new ApiError(status, UPLOAD_ABANDONED, ABANDONED_MESSAGE);
}

/**
 * The key tus-js-client keeps an unfinished upload under, to find it again after a reload: the file's
 * name, type, size and date, the endpoint, and how its bytes are ordered (an index-first upload of a
 * file is not the plain upload of the same file). Plain uploads keep tus-js-client's own key.
 */
export function fingerprintOf(file: File, endpoint: string, indexOffset: number | null): string {
  const base = ['tus-br', file.name, file.type, file.size, file.lastModified, endpoint].join('-');
  return indexOffset === null ? base : `${base}-index-first-${indexOffset}`;
}

export interface TusUploaderOptions {
  endpoint?: string;
  chunkSize?: number;
  retryDelays?: number[];
  tokens?: ManageTokenStore;
  /** tus-js-client's network and storage, for tests; the browser's by default. */
  httpStack?: tus.HttpStack;
  urlStorage?: tus.UploadOptions['urlStorage'];
  /** How long a cancelled upload's DELETE waits, and its retries (tests use 0). */
  terminateAfterMs?: number;
  terminateRetryDelays?: number[];
  /**
   * Where the browser says the connection is back (`online` events): a retry waiting for its delay
   * then goes at once. The window by default; null for none.
   */
  connectivity?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | null;
}

export class TusUploader implements Uploader {
  private readonly endpoint: string;
  private readonly tokens: ManageTokenStore;

  constructor(private readonly options: TusUploaderOptions = {}) {
    this.endpoint = options.endpoint ?? TUS_ENDPOINT;
    this.tokens = options.tokens ?? new ManageTokenStore();
  }

  start(file: File, cb: UploadCallbacks, uploadOptions: UploadOptions = {}): UploadHandle {
    let settled = false;
    let upload: tus.Upload | null = null;
    /** A failed request waits for its retry delay (no request is under way). */
    let retryPending = false;
    const connectivity = this.options.connectivity === undefined ? (globalThis.window ?? null) : this.options.connectivity;
    // The browser says the connection is back: retry now rather than at the end of the delay, which
    // grows to a minute after a long cut. (abort() clears tus-js-client's retry timer; start() asks the
    // server for its offset and goes on from there.)
    const onOnline = () => {
      const current = upload;
      if (!retryPending || settled || !current) return;
      retryPending = false;
      void current.abort(false).then(() => {
        if (!settled) current.start();
      });
    };
    connectivity?.addEventListener('online', onOnline);
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      connectivity?.removeEventListener('online', onOnline);
      fn();
    };
    /** The upload this page is sending to, once the server holds it. */
    let created: UploadCreated | null = null;
    /** The server had this upload and lost it: end with an error instead of creating another one. */
    let lost = false;
    /** This start created its upload (rather than resuming an earlier one). */
    let posted = false;

    const announce = (url: string, resumed: boolean, shareUrl?: string | null) => {
      if (created || settled) return;
      const token = this.tokens.get(url);
      if (!token) return;
      const id = shareIdOf(shareUrl) ?? uploadIdOf(url);
      created = { id, manageToken: token, shareUrl: shareUrl || `/v/${encodeURIComponent(id)}`, resumed };
      cb.onCreated?.(created);
    };

    const begin = (indexOffset: number | null) => {
      const metadata: Record<string, string> = { filename: file.name };
      const type = uploadTypeOf(file);
      if (type) metadata.filetype = type;
      const body = indexOffset === null ? file : reorderForIndexFirst(file, indexOffset);
      let shareUrl: string | null = null;

      const current = new tus.Upload(body, {
        endpoint: this.endpoint,
        chunkSize: this.options.chunkSize ?? CHUNK_SIZE,
        retryDelays: this.options.retryDelays ?? RETRY_DELAYS,
        metadata,
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        fingerprint: async () => fingerprintOf(file, this.endpoint, indexOffset),
        ...(this.options.httpStack ? { httpStack: this.options.httpStack } : {}),
        ...(this.options.urlStorage ? { urlStorage: this.options.urlStorage } : {}),
        onShouldRetry: (err, attempt, options) => {
          const retry = !lost && shouldRetry(err);
          if (retry && !settled) {
            retryPending = true;
            cb.onRetry?.(retryReasonOf(err), attempt, options.retryDelays?.[attempt] ?? 0);
          }
          return retry;
        },
        onBeforeRequest: (req) => {
          retryPending = false;
          if (req.getMethod().toUpperCase() !== 'POST') return;
          // tus-js-client creates a new upload when the one it resumes is gone; once the video
          // exists (and may have been shared), a new one would be a different video.
          if (created) {
            lost = true;
            throw abandonedError();
          }
          if (indexOffset !== null) req.setHeader(INDEX_OFFSET_HEADER, String(indexOffset));
        },
        onAfterResponse: (req, res) => {
          const method = req.getMethod().toUpperCase();
          const status = res.getStatus();
          if (method === 'POST' && status === 201) {
            // The only moment the server tells the manage token: keep it with the upload's URL.
            const token = res.getHeader(MANAGE_TOKEN_HEADER);
            const location = res.getHeader('Location');
            if (token && location) this.tokens.set(resolveLocation(location, req.getURL()), token);
            shareUrl = res.getHeader(SHARE_URL_HEADER) ?? null;
            posted = true;
          } else if (method === 'HEAD' && status >= 200 && status < 300) {
            shareUrl = res.getHeader(SHARE_URL_HEADER) || shareUrl;
            // Resuming (after a reload or a failed request): the server's offset is where we stand.
            const offset = Number.parseInt(res.getHeader('Upload-Offset') ?? '', 10);
            if (Number.isFinite(offset) && !settled) cb.onRestart?.(offset, file.size);
          } else if (method === 'HEAD' && created && (status === 404 || status === 410)) {
            lost = true;
          } else if (method === 'PATCH' && status >= 200 && status < 300) {
            // The last chunk's answer names the link as it is now (it may have been revoked meanwhile).
            shareUrl = res.getHeader(SHARE_URL_HEADER) || shareUrl;
          }
        },
        onUploadUrlAvailable: () => {
          // After the POST's 201 (new upload) or the first HEAD's 2xx (an earlier upload resumed).
          const url = current.url;
          if (url) announce(url, !posted, shareUrl);
        },
        onProgress: (sent, total) => {
          if (!settled) cb.onProgress(sent, total || file.size);
        },
        onSuccess: () => {
          const url = current.url;
          if (!url) {
            settle(() => cb.onError(new Error('The server accepted the upload but did not say where it is.')));
            return;
          }
          const token = this.tokens.get(url) ?? created?.manageToken ?? null;
          this.tokens.remove(url);
          if (!token) {
            settle(() => cb.onError(new Error('The upload finished, but this browser lost the key that deletes it.')));
            return;
          }
          settle(() => cb.onSuccess(resultOf(url, token, shareIdOf(shareUrl) ?? created?.id)));
        },
        onError: (err) => {
          let error = toUploadError(err);
          const status = error instanceof ApiError ? error.status : 0;
          const gone = created !== null && (status === 404 || status === 410);
          if (lost || gone || (error instanceof ApiError && error.code === UPLOAD_ABANDONED)) error = abandonedError(status || 404);
          // A refusal is final: the server has (or keeps) nothing worth resuming.
          if (current.url && (lost || !shouldRetry(err))) this.tokens.remove(current.url);
          settle(() => cb.onError(error));
        },
      });
      upload = current;

      void current
        .findPreviousUploads()
        .then((previous) => {
          if (settled) return;
          const resume = chooseResume(previous, this.tokens);
          if (resume) current.resumeFromPreviousUpload(resume);
          current.start();
        })
        .catch(() => {
          if (!settled) current.start();
        });
    };

    void planIndexFirst(file, uploadOptions.maxIndexBytes)
      .catch(() => null)
      .then((indexOffset) => {
        if (!settled) begin(indexOffset);
      });

    return {
      abort: async () => {
        if (settled) return true;
        settle(() => cb.onAbort?.());
        const current = upload;
        if (!current) return true; // still planning: nothing was sent
        // Stop sending, then delete what the server has (termination; the token goes with it). The
        // DELETE waits a moment: until the server has seen the aborted PATCH end it holds the upload
        // (423 Locked, which would be retried anyway).
        await current.abort(false);
        const url = current.url;
        if (!url) return true;
        await new Promise((r) => setTimeout(r, this.options.terminateAfterMs ?? TERMINATE_AFTER_MS));
        current.options.retryDelays = this.options.terminateRetryDelays ?? TERMINATE_RETRY_DELAYS;
        try {
          await current.abort(true);
        } catch (e) {
          const status = (e as tus.DetailedError).originalResponse?.getStatus() ?? 0;
          // 404/410: already gone. Anything else: the server expires what it could not delete.
          if (status !== 404 && status !== 410) return false;
        }
        this.tokens.remove(url);
        return true;
      },
    };
  }
}

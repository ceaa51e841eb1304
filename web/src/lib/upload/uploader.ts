// The one seam between the upload page and the transport: what an uploader is and what it reports. The two
// transports (tus-uploader.ts: resumable tus; xhr-uploader.ts: a multipart POST where the server does not speak
// tus) implement it; choose-uploader.ts picks one.

import type { UploadResult } from '../api';

/** The server holds the upload (tus `POST` answered `201`, or an earlier upload was found to resume). */
export interface UploadCreated {
  /** The video's id (its share id, from `Flick-Share-Url`; not necessarily the upload's id). */
  id: string;
  manageToken: string;
  /** The share page, `/v/{id}`. */
  shareUrl: string;
  /** True when an earlier upload of the same file is continued (after a reload). */
  resumed: boolean;
}

export interface UploadOptions {
  /** From `GET /api/config`: the index-first limit; absent or null: upload the file as it is. */
  maxIndexBytes?: number | null;
}

export interface UploadCallbacks {
  /** Bytes of the file sent so far, out of `total`. */
  onProgress(loaded: number, total: number): void;
  /**
   * The transfer (re)starts from `loaded` bytes the server already has (a resume after a reload or a
   * dropped connection): progress may go back to it, and speed is measured afresh from here.
   */
  onRestart?(loaded: number, total: number): void;
  /**
   * The video exists on the server while the bytes are still on their way (resumable uploads only, at
   * most once per start): it can be shared and watched from now on.
   */
  onCreated?(created: UploadCreated): void;
  /**
   * A request failed and is tried again by itself after `delayMs` (the `attempt`-th retry in a row):
   * no answer at all (`network`: offline, the server down), or a passing refusal of the server
   * (`server`: 5xx, 423, 409). Progress (or `onRestart`) follows once the server answers again.
   */
  onRetry?(reason: RetryReason, attempt: number, delayMs: number): void;
  /** Accepted (`201`): the server's answer. */
  onSuccess(result: UploadResult): void;
  /** Refused or failed: an `ApiError` (with the server's message) or a `NetworkError`. */
  onError(error: Error): void;
  /** Stopped by `Handle.abort()`. */
  onAbort?(): void;
}

export type RetryReason = 'network' | 'server';

export interface UploadHandle {
  /**
   * Stops the upload; `onAbort` follows at once, and no other callback. The promise says, later,
   * whether the server let go of what it had received (true also when it had nothing).
   */
  abort(): Promise<boolean>;
}

export interface Uploader {
  start(file: File, callbacks: UploadCallbacks, options?: UploadOptions): UploadHandle;
}

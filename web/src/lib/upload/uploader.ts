// The one seam between the upload page and the transport. Today: a multipart POST over XMLHttpRequest
// (xhr-uploader.ts). A later change swaps in tus (tus-js-client) by writing another `Uploader` and
// changing `defaultUploader` below; nothing else needs to know.

import type { UploadResult } from '../api';
import { XhrUploader } from './xhr-uploader';

export interface UploadCallbacks {
  /** Bytes of the file sent so far, out of `total`. */
  onProgress(loaded: number, total: number): void;
  /** Accepted (`201`): the server's answer. */
  onSuccess(result: UploadResult): void;
  /** Refused or failed: an `ApiError` (with the server's message) or a `NetworkError`. */
  onError(error: Error): void;
  /** Stopped by `Handle.abort()`. */
  onAbort?(): void;
}

export interface UploadHandle {
  /** Stops the upload; `onAbort` follows, and no other callback. */
  abort(): void;
}

export interface Uploader {
  start(file: File, callbacks: UploadCallbacks): UploadHandle;
}

export function defaultUploader(): Uploader {
  return new XhrUploader();
}

// The one seam between the upload page and the transport: resumable tus uploads (tus-uploader.ts), or a
// multipart POST over XMLHttpRequest (xhr-uploader.ts) where the server does not speak tus.

import type { UploadResult } from '../api';
import { TUS_ENDPOINT, TusUploader } from './tus-uploader';
import { XhrUploader } from './xhr-uploader';

export interface UploadCallbacks {
  /** Bytes of the file sent so far, out of `total`. */
  onProgress(loaded: number, total: number): void;
  /**
   * The transfer (re)starts from `loaded` bytes the server already has (a resume after a reload or a
   * dropped connection): progress may go back to it, and speed is measured afresh from here.
   */
  onRestart?(loaded: number, total: number): void;
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

/**
 * Whether the server speaks tus 1.0.0 at `endpoint` (`OPTIONS` → 204 with `Tus-Version`). `null` when
 * it could not be asked (no answer): decide again next time.
 */
export async function probeTus(fetchImpl: typeof fetch = (...a) => fetch(...a), endpoint = TUS_ENDPOINT): Promise<boolean | null> {
  let res: Response;
  try {
    res = await fetchImpl(endpoint, { method: 'OPTIONS', cache: 'no-store', credentials: 'same-origin' });
  } catch {
    return null;
  }
  const versions = (res.headers.get('Tus-Version') ?? '').split(',').map((v) => v.trim());
  return res.status === 204 && versions.includes('1.0.0');
}

/** Uses `preferred` when `probe()` says so, else `fallback`; the server's answer is remembered. */
export class ChoosingUploader implements Uploader {
  private decided: Uploader | null = null;

  constructor(
    private readonly probe: () => Promise<boolean | null>,
    private readonly preferred: () => Uploader,
    private readonly fallback: () => Uploader,
  ) {}

  /** The uploader to use now (asks the server the first time). */
  async choose(): Promise<Uploader> {
    if (this.decided) return this.decided;
    const tus = await this.probe();
    const chosen = tus ? this.preferred() : this.fallback();
    if (tus !== null) this.decided = chosen;
    return chosen;
  }

  start(file: File, cb: UploadCallbacks): UploadHandle {
    let inner: UploadHandle | null = null;
    let aborted = false;
    void this.choose().then(
      (uploader) => {
        if (!aborted) inner = uploader.start(file, cb);
      },
      (e: unknown) => {
        if (!aborted) cb.onError(e instanceof Error ? e : new Error(String(e)));
      },
    );
    return {
      abort() {
        if (inner) return inner.abort();
        if (aborted) return;
        aborted = true;
        cb.onAbort?.();
      },
    };
  }
}

export function defaultUploader(): Uploader {
  return new ChoosingUploader(
    () => probeTus(),
    () => new TusUploader(),
    () => new XhrUploader(),
  );
}

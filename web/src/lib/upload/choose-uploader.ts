// Picking the transport: resumable tus uploads when the server speaks tus 1.0.0, else a multipart POST.

import { TUS_ENDPOINT, TusUploader } from './tus-uploader';
import type { UploadCallbacks, UploadHandle, UploadOptions, Uploader } from './uploader';
import { XhrUploader } from './xhr-uploader';

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

  start(file: File, cb: UploadCallbacks, options?: UploadOptions): UploadHandle {
    let inner: UploadHandle | null = null;
    let aborted = false;
    void this.choose().then(
      (uploader) => {
        if (!aborted) inner = uploader.start(file, cb, options);
      },
      (e: unknown) => {
        if (!aborted) cb.onError(e instanceof Error ? e : new Error(String(e)));
      },
    );
    return {
      async abort() {
        if (inner) return inner.abort();
        if (aborted) return true;
        aborted = true;
        cb.onAbort?.();
        return true; // nothing was sent
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

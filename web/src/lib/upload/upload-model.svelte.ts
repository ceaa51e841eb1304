// The upload page's state: validation, progress, speed, time left, cancel.

import type { UploadResult } from '../api';
import { toPercent } from '../format';
import { ProgressMeter } from './progress-meter';
import type { UploadHandle, Uploader } from './uploader';
import { validateFile, type Limits } from './validate';

export type UploadPhase = 'idle' | 'invalid' | 'uploading' | 'finishing' | 'failed' | 'cancelled' | 'done';

export class UploadModel {
  phase = $state<UploadPhase>('idle');
  fileName = $state('');
  fileSize = $state(0);
  loaded = $state(0);
  speed = $state<number | null>(null);
  secondsLeft = $state<number | null>(null);
  /** What went wrong, for a person. */
  message = $state('');

  percent = $derived(this.fileSize > 0 ? toPercent(this.loaded / this.fileSize) : 0);
  busy = $derived(this.phase === 'uploading' || this.phase === 'finishing');

  private handle: UploadHandle | null = null;
  private meter = new ProgressMeter();

  constructor(
    private readonly uploader: Uploader,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Checks the file, then sends it. Returns false (and says why in `message`) when it is refused
   * before a byte is sent.
   */
  start(file: File, limits: Limits | null, onDone: (result: UploadResult, file: File) => void): boolean {
    if (this.busy) return false;
    this.fileName = file.name;
    this.fileSize = file.size;
    this.loaded = 0;
    this.speed = null;
    this.secondsLeft = null;
    this.message = '';
    const problem = validateFile(file, limits);
    if (problem) {
      this.phase = 'invalid';
      this.message = problem.message;
      return false;
    }
    this.meter.reset();
    this.meter.sample(0, this.now());
    this.phase = 'uploading';
    this.handle = this.uploader.start(file, {
      onProgress: (loaded, total) => {
        if (total > 0 && total !== this.fileSize) this.fileSize = total;
        this.loaded = Math.min(loaded, this.fileSize);
        this.meter.sample(loaded, this.now());
        this.speed = this.meter.bytesPerSecond;
        this.secondsLeft = this.meter.secondsLeft(this.fileSize);
        // Every byte is out: the server is storing the file before it answers.
        if (this.fileSize > 0 && loaded >= this.fileSize) this.phase = 'finishing';
      },
      onRestart: (loaded, total) => {
        // A resume: the server has `loaded` bytes; speed counts from here, not from the jump to it.
        if (total > 0 && total !== this.fileSize) this.fileSize = total;
        this.loaded = Math.min(loaded, this.fileSize);
        this.meter.reset();
        this.meter.sample(loaded, this.now());
        this.speed = null;
        this.secondsLeft = null;
        if (this.phase === 'finishing' && loaded < this.fileSize) this.phase = 'uploading';
      },
      onSuccess: (result) => {
        this.handle = null;
        this.loaded = this.fileSize;
        this.phase = 'done';
        onDone(result, file);
      },
      onError: (error) => {
        this.handle = null;
        this.phase = 'failed';
        this.message = error.message || 'The upload failed.';
      },
      onAbort: () => {
        this.handle = null;
        this.phase = 'cancelled';
        this.message = 'Upload cancelled.';
      },
    });
    return true;
  }

  cancel(): void {
    this.handle?.abort();
  }

  reset(): void {
    if (this.busy) return;
    this.phase = 'idle';
    this.message = '';
    this.loaded = 0;
  }
}

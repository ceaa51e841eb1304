// Upload speed and time left from progress samples: a moving average that settles quickly and
// does not flicker with every event.

export class ProgressMeter {
  private lastTime: number | null = null;
  private lastLoaded = 0;
  private startTime: number | null = null;
  private rate: number | null = null;

  /**
   * @param halfLifeMs how fast old speed samples fade.
   * @param warmupMs no estimate is given before this much time has passed (early samples lie).
   */
  constructor(
    private readonly halfLifeMs = 2000,
    private readonly warmupMs = 500,
  ) {}

  /** Records `loaded` bytes at time `now` (ms). */
  sample(loaded: number, now: number): void {
    if (this.startTime === null || this.lastTime === null) {
      this.startTime = now;
      this.lastTime = now;
      this.lastLoaded = loaded;
      return;
    }
    const dt = now - this.lastTime;
    if (dt <= 0) {
      this.lastLoaded = Math.max(this.lastLoaded, loaded);
      return;
    }
    const instant = Math.max(0, loaded - this.lastLoaded) / (dt / 1000);
    if (this.rate === null) {
      this.rate = instant;
    } else {
      const keep = Math.pow(0.5, dt / this.halfLifeMs);
      this.rate = this.rate * keep + instant * (1 - keep);
    }
    this.lastTime = now;
    this.lastLoaded = loaded;
  }

  /** Bytes per second, or `null` while there is not enough to say. */
  get bytesPerSecond(): number | null {
    if (this.rate === null || this.startTime === null || this.lastTime === null) return null;
    if (this.lastTime - this.startTime < this.warmupMs) return null;
    return this.rate;
  }

  /** Seconds until `total` bytes are sent at the current speed, or `null` when unknown. */
  secondsLeft(total: number): number | null {
    const rate = this.bytesPerSecond;
    if (rate === null || rate <= 0) return null;
    return Math.max(0, total - this.lastLoaded) / rate;
  }

  reset(): void {
    this.lastTime = null;
    this.startTime = null;
    this.lastLoaded = 0;
    this.rate = null;
  }
}

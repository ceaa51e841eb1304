import { describe, expect, it } from 'vitest';
import { ProgressMeter } from './progress-meter';

describe('ProgressMeter', () => {
  it('knows nothing before the warm-up', () => {
    const m = new ProgressMeter(2000, 500);
    m.sample(0, 0);
    m.sample(100_000, 200);
    expect(m.bytesPerSecond).toBeNull();
    expect(m.secondsLeft(1_000_000)).toBeNull();
  });

  it('measures a steady speed and the time left', () => {
    const m = new ProgressMeter(2000, 500);
    for (let t = 0; t <= 2000; t += 100) m.sample(t * 1000, t); // 1 MB/s
    expect(m.bytesPerSecond).toBeCloseTo(1_000_000, -3);
    expect(m.secondsLeft(10_000_000)).toBeCloseTo(8, 1);
  });

  it('follows a change of speed smoothly', () => {
    const m = new ProgressMeter(1000, 0);
    let loaded = 0;
    m.sample(0, 0);
    for (let t = 100; t <= 3000; t += 100) m.sample((loaded += 100_000), t); // 1 MB/s
    for (let t = 3100; t <= 3500; t += 100) m.sample((loaded += 25_000), t); // 250 KB/s
    const rate = m.bytesPerSecond!;
    expect(rate).toBeLessThan(1_000_000);
    expect(rate).toBeGreaterThan(250_000);
  });

  it('ignores samples that do not move time forward', () => {
    const m = new ProgressMeter(1000, 0);
    m.sample(0, 0);
    m.sample(500, 0);
    m.sample(1000, 1000);
    expect(m.bytesPerSecond).toBeCloseTo(500, 0);
  });

  it('starts over after reset', () => {
    const m = new ProgressMeter(1000, 0);
    m.sample(0, 0);
    m.sample(1000, 1000);
    m.reset();
    expect(m.bytesPerSecond).toBeNull();
  });
});

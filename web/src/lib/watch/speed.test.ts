import { describe, expect, it } from 'vitest';
import { clampSpeed, SPEEDS, speedOptionLabel, speedText, stepSpeed } from './speed';

describe('playback speed', () => {
  it('offers 0.5× to 2×', () => {
    expect(SPEEDS).toEqual([0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]);
  });
  it('stays within 0.5–2×, and reads nonsense as 1×', () => {
    expect(clampSpeed(0.25)).toBe(0.5);
    expect(clampSpeed(3)).toBe(2);
    expect(clampSpeed(1.5)).toBe(1.5);
    expect(clampSpeed(Number.NaN)).toBe(1);
    expect(clampSpeed(0)).toBe(1);
    expect(clampSpeed(-1)).toBe(1);
  });
  it('reads as people say it', () => {
    expect(speedText(1)).toBe('1×');
    expect(speedText(0.75)).toBe('0.75×');
    expect(speedText(1.5)).toBe('1.5×');
    expect(speedOptionLabel(1)).toBe('Normal');
    expect(speedOptionLabel(2)).toBe('2×');
  });
  it('steps to the next choice, and stays at the ends', () => {
    expect(stepSpeed(1, 1)).toBe(1.25);
    expect(stepSpeed(1, -1)).toBe(0.75);
    expect(stepSpeed(2, 1)).toBe(2);
    expect(stepSpeed(0.5, -1)).toBe(0.5);
    // A rate set elsewhere (the browser's own menu) steps to the nearest choice that way.
    expect(stepSpeed(1.1, 1)).toBe(1.25);
    expect(stepSpeed(1.1, -1)).toBe(1);
  });
});

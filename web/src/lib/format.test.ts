import { describe, expect, it } from 'vitest';
import { formatBytes, formatBytesOver, formatDuration, formatExtensions, formatPercent, formatSpeed, formatTimeLeft, receivedPercent, toPercent, wrapPoints } from './format';

describe('formatDuration', () => {
  it('shows m:ss under ten minutes', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(5.312)).toBe('0:05');
    expect(formatDuration(61.2)).toBe('1:01');
    expect(formatDuration(599.99)).toBe('9:59');
  });
  it('shows mm:ss and h:mm:ss for longer videos', () => {
    expect(formatDuration(600)).toBe('10:00');
    expect(formatDuration(3599)).toBe('59:59');
    expect(formatDuration(3600)).toBe('1:00:00');
    expect(formatDuration(3725)).toBe('1:02:05');
  });
  it('says --:-- when unknown', () => {
    expect(formatDuration(null)).toBe('--:--');
    expect(formatDuration(undefined)).toBe('--:--');
    expect(formatDuration(Number.NaN)).toBe('--:--');
    expect(formatDuration(-1)).toBe('--:--');
    expect(formatDuration(Infinity)).toBe('--:--');
  });
});

describe('formatBytes', () => {
  it('uses the familiar units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(950)).toBe('950 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(1055836)).toBe('1 MB');
    expect(formatBytes(12 * 1024 * 1024)).toBe('12 MB');
    expect(formatBytes(1073741824)).toBe('1 GB');
    expect(formatBytes(2.5 * 1024 ** 3)).toBe('2.5 GB');
  });
  it('never shows 1000 of a unit', () => {
    expect(formatBytes(1023 * 1024)).toBe('1 MB');
  });
  it('copes with nonsense', () => {
    expect(formatBytes(-5)).toBe('–');
    expect(formatBytes(Number.NaN)).toBe('–');
  });
});

describe('formatBytesOver', () => {
  const GiB = 1024 ** 3;
  it('never reads as the limit it is over', () => {
    expect(formatBytesOver(Math.round(1.08 * GiB), GiB)).toBe('1.08 GB');
    expect(formatBytesOver(Math.round(1.1 * GiB), GiB)).toBe('1.1 GB');
    expect(formatBytesOver(1_080_000_000, GiB)).toBe('1.01 GB');
    expect(formatBytesOver(Math.round(1.0004 * GiB), GiB)).toBe('1.0004 GB');
    expect(formatBytesOver(GiB + 1, GiB)).toBe('just over 1 GB');
  });
  it('reads like formatBytes away from the limit', () => {
    expect(formatBytesOver(2.5 * GiB, GiB)).toBe('2.5 GB');
    expect(formatBytesOver(12 * GiB, GiB)).toBe('12 GB');
    expect(formatBytesOver(123.4 * 1024 ** 2, 100 * 1024 ** 2)).toBe('123 MB');
    expect(formatBytesOver(1023.7 * 1024, 1000)).toBe('1 MB');
    expect(formatBytesOver(950, 900)).toBe('950 B');
    expect(formatBytesOver(Number.NaN, GiB)).toBe('–');
  });
});

describe('formatSpeed', () => {
  it('adds /s', () => {
    expect(formatSpeed(850 * 1024)).toBe('850 KB/s');
    expect(formatSpeed(2.4 * 1024 * 1024)).toBe('2.4 MB/s');
  });
  it('is empty when unknown or stalled', () => {
    expect(formatSpeed(null)).toBe('');
    expect(formatSpeed(0)).toBe('');
    expect(formatSpeed(Number.POSITIVE_INFINITY)).toBe('');
  });
});

describe('formatTimeLeft', () => {
  it('speaks plainly', () => {
    expect(formatTimeLeft(0)).toBe('a few seconds left');
    expect(formatTimeLeft(4.2)).toBe('a few seconds left');
    expect(formatTimeLeft(12.1)).toBe('13 s left');
    expect(formatTimeLeft(59)).toBe('59 s left');
    expect(formatTimeLeft(60)).toBe('1 min left');
    expect(formatTimeLeft(170)).toBe('3 min left');
    expect(formatTimeLeft(3600)).toBe('1 h left');
    expect(formatTimeLeft(3900)).toBe('1 h 5 min left');
  });
  it('is empty when unknown', () => {
    expect(formatTimeLeft(null)).toBe('');
    expect(formatTimeLeft(Number.NaN)).toBe('');
    expect(formatTimeLeft(-3)).toBe('');
    expect(formatTimeLeft(Infinity)).toBe('');
  });
});

describe('toPercent', () => {
  it('floors and clamps', () => {
    expect(toPercent(0.4)).toBe(40);
    expect(toPercent(0.999)).toBe(99);
    expect(toPercent(1)).toBe(100);
    expect(toPercent(1.7)).toBe(100);
    expect(toPercent(-0.2)).toBe(0);
    expect(toPercent(null)).toBe(0);
  });
});

describe('formatExtensions', () => {
  it('lists in words', () => {
    expect(formatExtensions(['mp4', 'mov', 'mkv', 'webm'])).toBe('MP4, MOV, MKV or WebM');
    expect(formatExtensions(['.mp4'])).toBe('MP4');
    expect(formatExtensions(['mp4', 'mov'])).toBe('MP4 or MOV');
    expect(formatExtensions([])).toBe('');
  });
});

describe('percent', () => {
  it('reads as a whole percent with its sign', () => {
    expect(formatPercent(43)).toBe('43 %');
    expect(receivedPercent(43, 100)).toBe(43);
    expect(receivedPercent(999, 1000)).toBe(99);
    expect(receivedPercent(2000, 1000)).toBe(100);
    expect(receivedPercent(10, 0)).toBe(0);
    expect(receivedPercent(undefined, 1000)).toBe(0);
    expect(receivedPercent(10, null)).toBe(0);
  });
});

describe('wrapPoints', () => {
  it('lets a file name wrap between its words', () => {
    expect(wrapPoints('IMG_2026_holiday')).toEqual(['IMG_', '2026_', 'holiday']);
    expect(wrapPoints('Screen Recording 2026-11-30 at 10.42.13')).toEqual(['Screen Recording 2026-', '11-', '30 at 10.', '42.', '13']);
    expect(wrapPoints('a__b')).toEqual(['a__', 'b']);
    expect(wrapPoints('Our holiday')).toEqual(['Our holiday']);
    expect(wrapPoints('trailing_')).toEqual(['trailing_']);
    expect(wrapPoints('')).toEqual(['']);
    expect(wrapPoints('a_b').join('')).toBe('a_b');
  });
});

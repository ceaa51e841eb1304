import { describe, expect, it } from 'vitest';
import { PlaybackTime, type FrameClock } from './playback-time.svelte';
import { clampTime, fractionAt, percentOf, previewLeft, reachableEnd, sliderKey, spansOf, timelineLength, timeText, valueText } from './seekbar';

function ranges(...list: Array<[number, number]>): Pick<TimeRanges, 'length' | 'start' | 'end'> {
  return { length: list.length, start: (i) => list[i][0], end: (i) => list[i][1] };
}

describe('the timeline', () => {
  it('is as long as the known duration, else the element’s, else what can be reached', () => {
    expect(timelineLength(60, 12, 12)).toBe(60);
    expect(timelineLength(null, 30, 30)).toBe(30);
    expect(timelineLength(null, Infinity, 14)).toBe(14);
    expect(timelineLength(0, Number.NaN, null)).toBe(0);
    expect(timelineLength(Number.NaN, Number.NaN, Infinity)).toBe(0);
  });

  it('can be sought up to what is playable while the upload runs, else to its end', () => {
    expect(reachableEnd(60, null)).toBe(60);
    expect(reachableEnd(60, undefined)).toBe(60);
    expect(reachableEnd(60, 12)).toBe(12);
    expect(reachableEnd(60, 90)).toBe(60);
    expect(reachableEnd(0, 12)).toBe(12);
    expect(reachableEnd(60, -3)).toBe(0);
    expect(reachableEnd(60, Number.NaN)).toBe(60);
  });

  it('keeps times within it', () => {
    expect(clampTime(5, 10)).toBe(5);
    expect(clampTime(15, 10)).toBe(10);
    expect(clampTime(-1, 10)).toBe(0);
    expect(clampTime(Number.NaN, 10)).toBe(0);
    expect(clampTime(5, Infinity)).toBe(5);
  });

  it('reads a pointer as a fraction, and a time as a percentage', () => {
    const box = { left: 100, width: 200 };
    expect(fractionAt(100, box)).toBe(0);
    expect(fractionAt(200, box)).toBe(0.5);
    expect(fractionAt(50, box)).toBe(0);
    expect(fractionAt(400, box)).toBe(1);
    expect(fractionAt(200, { left: 0, width: 0 })).toBe(0);
    expect(percentOf(15, 60)).toBe(25);
    expect(percentOf(90, 60)).toBe(100);
    expect(percentOf(5, 0)).toBe(0);
    expect(percentOf(23.4, 60)).toBe(39);
    expect(percentOf(10, 30)).toBe(33.333);
  });
});

describe('the seek bar’s keys', () => {
  it('step 5 s with the arrows, a tenth with Page Up/Down, to the ends with Home and End', () => {
    expect(sliderKey('ArrowRight', 60, 60)).toEqual({ by: 5 });
    expect(sliderKey('ArrowUp', 60, 60)).toEqual({ by: 5 });
    expect(sliderKey('ArrowLeft', 60, 60)).toEqual({ by: -5 });
    expect(sliderKey('ArrowDown', 60, 60)).toEqual({ by: -5 });
    expect(sliderKey('PageUp', 60, 60)).toEqual({ by: 10 }); // at least 10 s
    expect(sliderKey('PageUp', 600, 600)).toEqual({ by: 60 });
    expect(sliderKey('PageDown', 600, 600)).toEqual({ by: -60 });
    expect(sliderKey('Home', 60, 60)).toEqual({ to: 0 });
    expect(sliderKey('End', 60, 60)).toEqual({ to: 60 });
    expect(sliderKey('Enter', 60, 60)).toBeNull();
    expect(sliderKey('k', 60, 60)).toBeNull();
  });

  it('End goes no further than what is playable during the upload', () => {
    expect(sliderKey('End', 60, 12)).toEqual({ to: 12 });
  });
});

describe('what the seek bar says', () => {
  it('reads as people say it', () => {
    expect(valueText(83, 296)).toBe('1:23 of 4:56');
    expect(valueText(0, 30)).toBe('0:00 of 0:30');
    expect(valueText(7, 0)).toBe('0:07');
    expect(valueText(Number.NaN, 30)).toBe('0:00 of 0:30');
    expect(timeText(83, 3725)).toBe('1:23 / 1:02:05');
    expect(timeText(5, 0)).toBe('0:05');
  });
});

describe('spansOf', () => {
  it('lists the buffered ranges within the timeline, in order', () => {
    expect(spansOf(ranges([10, 20], [0, 5]), 60)).toEqual([
      { start: 0, end: 5 },
      { start: 10, end: 20 },
    ]);
    expect(spansOf(ranges([50, 70]), 60)).toEqual([{ start: 50, end: 60 }]);
    expect(spansOf(ranges([5, 5]), 60)).toEqual([]);
    expect(spansOf(ranges([0, 5]), 0)).toEqual([]);
    expect(spansOf(null, 60)).toEqual([]);
  });
});

describe('previewLeft', () => {
  it('centres the preview on the pointer, inside the player', () => {
    expect(previewLeft(400, 160, 800)).toBe(320);
    expect(previewLeft(10, 160, 800)).toBe(8);
    expect(previewLeft(795, 160, 800)).toBe(632);
    // Wider than the player: centred in it.
    expect(previewLeft(100, 300, 200)).toBe(0);
    expect(previewLeft(100, 150, 160)).toBe(5);
  });
});

class FakeMedia extends EventTarget {
  currentTime = 0;
  duration = Number.NaN;
  paused = true;
  buffered = ranges();
  seekable = ranges();
}

function frames() {
  const pending = new Map<number, () => void>();
  let next = 1;
  const clock: FrameClock = {
    request: (cb) => (pending.set(next, cb), next++),
    cancel: (h) => void pending.delete(h),
  };
  const run = () => {
    const all = [...pending.values()];
    pending.clear();
    for (const cb of all) cb();
  };
  return { clock, run, pending };
}

describe('PlaybackTime', () => {
  it('follows the element: duration, seekable end, buffered, position', () => {
    const media = new FakeMedia();
    const time = new PlaybackTime();
    const f = frames();
    const detach = time.attach(media, f.clock);
    expect(time.current).toBe(0);
    expect(time.mediaDuration).toBeNaN();
    expect(time.seekableEnd).toBeNull();
    media.duration = 30;
    media.seekable = ranges([0, 30]);
    media.buffered = ranges([0, 8]);
    media.dispatchEvent(new Event('loadedmetadata'));
    expect(time.mediaDuration).toBe(30);
    expect(time.seekableEnd).toBe(30);
    expect(time.buffered).toEqual([{ start: 0, end: 8 }]);
    media.currentTime = 4;
    media.dispatchEvent(new Event('seeked'));
    expect(time.current).toBe(4);
    detach();
    media.currentTime = 9;
    media.dispatchEvent(new Event('timeupdate'));
    expect(time.current).toBe(4);
  });

  it('reads the position every frame while playing, and stops when paused', () => {
    const media = new FakeMedia();
    const time = new PlaybackTime();
    const f = frames();
    time.attach(media, f.clock);
    media.paused = false;
    media.dispatchEvent(new Event('play'));
    expect(f.pending.size).toBe(1);
    media.currentTime = 0.016;
    f.run();
    expect(time.current).toBe(0.016);
    expect(f.pending.size).toBe(1);
    media.paused = true;
    media.currentTime = 0.03;
    f.run();
    expect(time.current).toBe(0.03);
    expect(f.pending.size).toBe(0);
  });

  it('reads it at timeupdates only while nobody sees the bar, and every frame again when it shows', () => {
    const media = new FakeMedia();
    const time = new PlaybackTime();
    const f = frames();
    time.attach(media, f.clock);
    time.smooth = false;
    media.paused = false;
    media.dispatchEvent(new Event('play'));
    expect(f.pending.size).toBe(0);
    media.currentTime = 0.25;
    media.dispatchEvent(new Event('timeupdate'));
    expect(time.current).toBe(0.25);
    time.smooth = true;
    expect(f.pending.size).toBe(1);
    media.currentTime = 0.27;
    f.run();
    expect(time.current).toBe(0.27);
    time.smooth = false;
    f.run();
    expect(f.pending.size).toBe(0);
  });

  it('keeps the buffered spans within an open playlist’s reach (Infinity long)', () => {
    const media = new FakeMedia();
    media.duration = Infinity;
    media.seekable = ranges([0, 14]);
    media.buffered = ranges([0, 12]);
    const time = new PlaybackTime();
    time.attach(media, frames().clock);
    expect(time.buffered).toEqual([{ start: 0, end: 12 }]);
  });
});

// The seek bar's arithmetic: how long the timeline is, how far a viewer may go (not past what can be
// played while the upload still runs), where a pointer points, what a key does, and how it reads.

import { formatDuration } from '../format';

/** Arrow keys move this many seconds (as the page's own arrow shortcuts). */
export const SEEK_STEP_SECONDS = 5;
/** Page Up and Page Down move a tenth of the video, at least this many seconds. */
export const SEEK_PAGE_MIN_SECONDS = 10;

const finite = (n: number | null | undefined): n is number => n != null && Number.isFinite(n);

/**
 * The timeline's length: the full duration when known (the server read it from the file), else the
 * element's, else the end of what can be reached (an open playlist on the browser's own HLS is
 * Infinity long); 0 when nothing is known yet.
 */
export function timelineLength(known: number | null | undefined, mediaDuration: number, seekableEnd: number | null): number {
  if (finite(known) && known > 0) return known;
  if (finite(mediaDuration) && mediaDuration > 0) return mediaDuration;
  if (finite(seekableEnd) && seekableEnd > 0) return seekableEnd;
  return 0;
}

/**
 * The furthest a viewer may seek: the whole timeline, or (while the upload or the processing runs) what
 * can be played from 0:00 (`playable`).
 */
export function reachableEnd(length: number, playable: number | null | undefined): number {
  const whole = finite(length) && length > 0 ? length : 0;
  if (!finite(playable)) return whole;
  const p = Math.max(0, playable);
  return whole > 0 ? Math.min(whole, p) : p;
}

/** A time within [0, end]; anything unreadable is 0. */
export function clampTime(t: number, end: number): number {
  if (!Number.isFinite(t) || t <= 0) return 0;
  return finite(end) ? Math.min(t, Math.max(0, end)) : t;
}

/** Where `clientX` falls across a box, from 0 to 1. */
export function fractionAt(clientX: number, box: { left: number; width: number }): number {
  if (!(box.width > 0) || !Number.isFinite(clientX)) return 0;
  return Math.min(1, Math.max(0, (clientX - box.left) / box.width));
}

/** `t` as a percentage of the timeline (0–100, to a thousandth). */
export function percentOf(t: number, length: number): number {
  if (!(length > 0) || !Number.isFinite(t)) return 0;
  return Math.round(Math.min(100, Math.max(0, (t / length) * 100)) * 1000) / 1000;
}

export type SliderMove = { by: number } | { to: number };

/**
 * What a key on the seek bar does (ARIA slider): the arrows ±5 s, Page Up/Down a tenth of the video
 * (relative moves, from wherever playback is when they happen: keys repeat faster than the position is
 * reported), Home the start, End the furthest reachable; null for any other key.
 */
export function sliderKey(key: string, length: number, end: number): SliderMove | null {
  const page = Math.max(SEEK_PAGE_MIN_SECONDS, length / 10);
  switch (key) {
    case 'ArrowRight':
    case 'Right':
    case 'ArrowUp':
    case 'Up':
      return { by: SEEK_STEP_SECONDS };
    case 'ArrowLeft':
    case 'Left':
    case 'ArrowDown':
    case 'Down':
      return { by: -SEEK_STEP_SECONDS };
    case 'PageUp':
      return { by: page };
    case 'PageDown':
      return { by: -page };
    case 'Home':
      return { to: 0 };
    case 'End':
      return { to: clampTime(end, end) };
    default:
      return null;
  }
}

/** What the seek bar says to a screen reader: `1:23 of 4:56` (just `1:23` while the length is unknown). */
export function valueText(t: number, length: number): string {
  const now = formatDuration(Math.max(0, Number.isFinite(t) ? t : 0));
  return length > 0 ? `${now} of ${formatDuration(length)}` : now;
}

/** The time display: `1:23 / 4:56` (just `1:23` while the length is unknown). */
export function timeText(t: number, length: number): string {
  const now = formatDuration(Math.max(0, Number.isFinite(t) ? t : 0));
  return length > 0 ? `${now} / ${formatDuration(length)}` : now;
}

export interface Span {
  start: number;
  end: number;
}

/** Time ranges (the element's `buffered`) as spans within the timeline, in order, without empty ones. */
export function spansOf(ranges: Pick<TimeRanges, 'length' | 'start' | 'end'> | null | undefined, length: number): Span[] {
  if (!ranges || !(length > 0)) return [];
  const out: Span[] = [];
  for (let i = 0; i < ranges.length; i++) {
    const start = Math.max(0, ranges.start(i));
    const end = Math.min(length, ranges.end(i));
    if (Number.isFinite(start) && Number.isFinite(end) && end > start) out.push({ start, end });
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * The left edge of a box of `width` centred on `x` within a container of `containerWidth`, kept
 * `margin` px inside its edges (centred in it when it does not fit).
 */
export function previewLeft(x: number, width: number, containerWidth: number, margin = 8): number {
  const max = containerWidth - width - margin;
  if (max < margin) return Math.max(0, (containerWidth - width) / 2);
  return Math.min(max, Math.max(margin, x - width / 2));
}

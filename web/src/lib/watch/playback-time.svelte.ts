// Where playback is, for the seek bar and the time display: the position (smoothly while playing and
// the controls show: read once a frame, not only at the element's few `timeupdate`s a second), the
// element's duration, the end of what can be reached, and what is buffered.

import { spansOf, type Span } from './seekbar';

/** What the clock uses of a <video>. */
export interface TimedMedia extends EventTarget {
  readonly currentTime: number;
  readonly duration: number;
  readonly paused: boolean;
  readonly buffered: Pick<TimeRanges, 'length' | 'start' | 'end'>;
  readonly seekable: Pick<TimeRanges, 'length' | 'start' | 'end'>;
}

export interface FrameClock {
  request(callback: () => void): number;
  cancel(handle: number): void;
}

const browserFrames: FrameClock = {
  request: (cb) => requestAnimationFrame(cb),
  cancel: (h) => cancelAnimationFrame(h),
};

export class PlaybackTime {
  #current = $state(0);
  #duration = $state(Number.NaN);
  #seekableEnd = $state<number | null>(null);
  #buffered = $state.raw<Span[]>([]);
  /** Read once a frame while playing (the controls show); else at `timeupdate`s only. */
  #smooth = true;
  #kick: (() => void) | null = null;

  get current(): number {
    return this.#current;
  }
  /** The element's own duration (NaN before the metadata, Infinity for an open playlist on native HLS). */
  get mediaDuration(): number {
    return this.#duration;
  }
  /** The end of the last seekable range, or null. */
  get seekableEnd(): number | null {
    return this.#seekableEnd;
  }
  /** What is buffered, in seconds (within the element's duration, or the seekable end). */
  get buffered(): readonly Span[] {
    return this.#buffered;
  }

  /** Whether the position is read every frame while playing (no need while nobody sees the bar). */
  set smooth(on: boolean) {
    this.#smooth = on;
    if (on) this.#kick?.();
  }

  /** Follows `media`; returns the uninstaller. */
  attach(media: TimedMedia, frames: FrameClock = browserFrames): () => void {
    let frame: number | null = null;
    const readTime = () => {
      const t = media.currentTime;
      if (Number.isFinite(t) && t !== this.#current) this.#current = t;
    };
    const readRanges = () => {
      const d = media.duration;
      if (!Object.is(d, this.#duration)) this.#duration = d;
      const s = media.seekable;
      const end = s.length > 0 ? s.end(s.length - 1) : null;
      if (end !== this.#seekableEnd) this.#seekableEnd = end;
      const limit = Number.isFinite(d) && d > 0 ? d : (end ?? 0);
      const next = spansOf(media.buffered, limit > 0 ? limit : Infinity);
      const prev = this.#buffered;
      if (next.length !== prev.length || next.some((r, i) => r.start !== prev[i].start || r.end !== prev[i].end)) this.#buffered = next;
    };
    const tick = () => {
      frame = null;
      readTime();
      if (!media.paused && this.#smooth) frame = frames.request(tick);
    };
    const onPlay = () => {
      if (frame === null && this.#smooth) frame = frames.request(tick);
    };
    this.#kick = () => {
      if (!media.paused) onPlay();
    };
    const onAny = () => {
      readTime();
      readRanges();
    };
    const events = ['timeupdate', 'durationchange', 'loadedmetadata', 'progress', 'seeking', 'seeked', 'emptied', 'pause', 'ended'];
    for (const e of events) media.addEventListener(e, onAny);
    media.addEventListener('playing', onPlay);
    media.addEventListener('play', onPlay);
    onAny();
    if (!media.paused) onPlay();
    return () => {
      for (const e of events) media.removeEventListener(e, onAny);
      media.removeEventListener('playing', onPlay);
      media.removeEventListener('play', onPlay);
      if (frame !== null) frames.cancel(frame);
      frame = null;
      this.#kick = null;
    };
  }
}

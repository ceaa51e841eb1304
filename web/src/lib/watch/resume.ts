// "Resume where you left off": this browser remembers how far it watched each video (localStorage, by
// video id), saved every few seconds while it plays and when the page goes away, forgotten when the
// video ends. A position in the first or the last 5 s is not worth restoring (nor keeping).

import { browserStorage } from '../library.svelte';

export const RESUME_KEY = 'flick.resume.v1';
/** Not restored within this many seconds of either end. */
export const RESUME_EDGE_SECONDS = 5;
/** How often the position is saved while the video plays. */
export const RESUME_SAVE_EVERY_MS = 5000;
/** The most videos remembered (the most recently watched). */
export const RESUME_MAX_ENTRIES = 100;

interface Saved {
  /** Seconds into the video. */
  t: number;
  /** When it was saved (ms since the epoch), to forget the oldest first. */
  at: number;
}

function usable(n: number | null | undefined): n is number {
  return n != null && Number.isFinite(n) && n > 0;
}

/**
 * Where to start a video this browser watched up to `saved` seconds, or null (from 0:00): not in the
 * first or last 5 s, and not past what can be played yet (`playable`, while the upload still runs).
 */
export function resumePosition(saved: number | null, { duration, playable }: { duration?: number | null; playable?: number | null } = {}): number | null {
  if (saved == null || !Number.isFinite(saved) || saved < RESUME_EDGE_SECONDS) return null;
  if (usable(duration) && saved > duration - RESUME_EDGE_SECONDS) return null;
  if (usable(playable) && saved > playable - 1) return null;
  return saved;
}

/** The saved positions, tolerant of storage that is missing, full or holds nonsense. */
export class ResumeStore {
  constructor(
    private readonly storage: Storage | null = browserStorage('local'),
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string): number | null {
    const t = this.read()[id]?.t;
    return typeof t === 'number' && Number.isFinite(t) ? t : null;
  }

  /** Remembers `t` for a video; a position within 5 s of either end forgets it instead. */
  save(id: string, t: number, duration?: number | null): void {
    if (resumePosition(t, { duration }) == null) {
      this.clear(id);
      return;
    }
    const all = this.read();
    all[id] = { t: Math.round(t * 10) / 10, at: this.now() };
    const newest = Object.entries(all)
      .sort((a, b) => b[1].at - a[1].at)
      .slice(0, RESUME_MAX_ENTRIES);
    this.write(Object.fromEntries(newest));
  }

  clear(id: string): void {
    const all = this.read();
    if (!(id in all)) return;
    delete all[id];
    this.write(all);
  }

  private read(): Record<string, Saved> {
    if (!this.storage) return {};
    try {
      const data: unknown = JSON.parse(this.storage.getItem(RESUME_KEY) ?? '{}');
      if (!data || typeof data !== 'object' || Array.isArray(data)) return {};
      const out: Record<string, Saved> = {};
      for (const [id, v] of Object.entries(data as Record<string, unknown>)) {
        const s = v as Partial<Saved> | null;
        if (s && typeof s.t === 'number' && Number.isFinite(s.t)) out[id] = { t: s.t, at: typeof s.at === 'number' ? s.at : 0 };
      }
      return out;
    } catch {
      return {};
    }
  }

  private write(all: Record<string, Saved>): void {
    if (!this.storage) return;
    try {
      if (Object.keys(all).length === 0) this.storage.removeItem(RESUME_KEY);
      else this.storage.setItem(RESUME_KEY, JSON.stringify(all));
    } catch {
      // Full or disabled: this browser will not resume; playback goes on.
    }
  }
}

/** What tracking needs of a media element. */
export interface ResumeMedia extends EventTarget {
  readonly currentTime: number;
  readonly duration: number;
}

export interface TrackOptions {
  id: string;
  store: Pick<ResumeStore, 'save' | 'clear'>;
  /** The video's full length when known (the element's own is Infinity while the upload runs). */
  duration?: () => number | null | undefined;
  /** Where `pagehide` fires (the window). */
  page?: EventTarget | null;
  everyMs?: number;
  now?: () => number;
}

/**
 * Saves the position of `media` every few seconds while it plays, when it pauses and when the page is
 * hidden for good (`pagehide`); forgets it at the end. Nothing is saved before the video has played:
 * loading a page (maybe at a restored position) must not overwrite what was saved. Returns the uninstaller.
 */
export function trackResume(media: ResumeMedia, options: TrackOptions): () => void {
  const { id, store, page = typeof window === 'undefined' ? null : window } = options;
  const everyMs = options.everyMs ?? RESUME_SAVE_EVERY_MS;
  const now = options.now ?? Date.now;
  let played = false;
  let ended = false;
  let lastSave = 0;
  const duration = () => {
    const known = options.duration?.();
    if (usable(known)) return known;
    return usable(media.duration) ? media.duration : null;
  };
  const save = () => {
    if (!played || ended) return;
    lastSave = now();
    store.save(id, media.currentTime, duration());
  };
  const onPlaying = () => {
    played = true;
    ended = false;
    lastSave = now();
  };
  const onTime = () => {
    if (played && !ended && now() - lastSave >= everyMs) save();
  };
  const onEnded = () => {
    ended = true;
    store.clear(id);
  };
  media.addEventListener('playing', onPlaying);
  media.addEventListener('timeupdate', onTime);
  media.addEventListener('pause', save);
  media.addEventListener('seeked', onTime);
  media.addEventListener('ended', onEnded);
  page?.addEventListener('pagehide', save);
  return () => {
    save();
    media.removeEventListener('playing', onPlaying);
    media.removeEventListener('timeupdate', onTime);
    media.removeEventListener('pause', save);
    media.removeEventListener('seeked', onTime);
    media.removeEventListener('ended', onEnded);
    page?.removeEventListener('pagehide', save);
  };
}

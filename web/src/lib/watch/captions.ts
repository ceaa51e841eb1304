// Captions: which of a video's caption tracks to show, and this browser's choice (a language, or off),
// remembered (localStorage) and applied again to the next video that has that language.

import type { Caption } from '../api';
import { browserStorage } from '../library.svelte';

export const CAPTIONS_KEY = 'flick.captions.v1';
/** The menu's value for "no captions". */
export const CAPTIONS_OFF = -1;

/** What this browser chose last: a language, or off (`lang: null`). */
export interface CaptionChoice {
  lang: string | null;
}

const LANG = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,8}$/;

/** `en` and `EN` are one language. */
export function normalizeLang(lang: string): string {
  return lang.trim().toLowerCase();
}

/** The choice last made in this browser, tolerant of storage that is missing, full or holds nonsense. */
export class CaptionChoiceStore {
  constructor(private readonly storage: Storage | null = browserStorage('local')) {}

  /** The last choice, or null: never made (or unreadable). */
  get(): CaptionChoice | null {
    if (!this.storage) return null;
    try {
      const data: unknown = JSON.parse(this.storage.getItem(CAPTIONS_KEY) ?? 'null');
      if (!data || typeof data !== 'object' || !('lang' in data)) return null;
      const lang = (data as { lang: unknown }).lang;
      if (lang === null) return { lang: null };
      return typeof lang === 'string' && LANG.test(lang) ? { lang: normalizeLang(lang) } : null;
    } catch {
      return null;
    }
  }

  /** Remembers a language, or off (null). */
  set(lang: string | null): void {
    if (!this.storage) return;
    const value = lang !== null && LANG.test(lang) ? normalizeLang(lang) : null;
    try {
      this.storage.setItem(CAPTIONS_KEY, JSON.stringify({ lang: value }));
    } catch {
      // Full or disabled: the choice holds for this page only.
    }
  }
}

/**
 * The caption tracks worth offering, from what the server said: a language tag, a label (else the tag),
 * a URL of the page's own origin; one per language (the first).
 */
export function usableCaptions(list: unknown, pageUrl: string): Caption[] {
  if (!Array.isArray(list)) return [];
  let origin: string;
  try {
    origin = new URL(pageUrl).origin;
  } catch {
    return [];
  }
  const seen = new Set<string>();
  const out: Caption[] = [];
  for (const c of list as Partial<Caption>[]) {
    if (!c || typeof c.lang !== 'string' || !LANG.test(c.lang) || typeof c.url !== 'string') continue;
    const key = normalizeLang(c.lang);
    if (seen.has(key)) continue;
    let url: URL;
    try {
      url = new URL(c.url, pageUrl);
    } catch {
      continue;
    }
    if (url.origin !== origin || (url.protocol !== 'http:' && url.protocol !== 'https:')) continue;
    const label = typeof c.label === 'string' && c.label.trim() ? c.label.trim().slice(0, 80) : c.lang;
    seen.add(key);
    out.push({ lang: c.lang, label, url: url.href });
  }
  return out;
}

/**
 * The caption for a language: the same tag (`pt-BR`), else the same language (`pt` for `pt-BR`, and
 * the other way round); CAPTIONS_OFF when none (or `lang` is null).
 */
export function captionFor(captions: readonly Pick<Caption, 'lang'>[], lang: string | null | undefined): number {
  if (!lang) return CAPTIONS_OFF;
  const want = normalizeLang(lang);
  const exact = captions.findIndex((c) => normalizeLang(c.lang) === want);
  if (exact >= 0) return exact;
  const primary = want.split('-')[0];
  return captions.findIndex((c) => normalizeLang(c.lang).split('-')[0] === primary);
}

/** What the player uses of a `TextTrack`. */
export interface TextTrackLike {
  readonly kind: string;
  readonly language: string;
  readonly label: string;
  mode: 'disabled' | 'hidden' | 'showing';
}

/** Text tracks that are captions or subtitles (not chapters, metadata or descriptions). */
export function isCaptionTrack(track: Pick<TextTrackLike, 'kind'>): boolean {
  return track.kind === 'subtitles' || track.kind === 'captions';
}

/** The text track of a caption: its language, the same label first. */
export function trackFor<T extends TextTrackLike>(tracks: readonly T[], caption: Pick<Caption, 'lang' | 'label'>): T | null {
  const lang = normalizeLang(caption.lang);
  const same = tracks.filter((t) => isCaptionTrack(t) && normalizeLang(t.language) === lang);
  return same.find((t) => t.label === caption.label) ?? same[0] ?? null;
}

/**
 * Shows `target` and disables every other caption track (a mode is only written when it changes: each
 * write fires `change`). Returns whether anything changed.
 */
export function showOnly(tracks: readonly TextTrackLike[], target: TextTrackLike | null): boolean {
  let changed = false;
  for (const t of tracks) {
    if (!isCaptionTrack(t)) continue;
    const mode = t === target ? 'showing' : 'disabled';
    if (t.mode !== mode) {
      t.mode = mode;
      changed = true;
    }
  }
  return changed;
}

// The captions menu of one player: the video's caption tracks (Off, then each label), the one chosen,
// and the <video>'s text tracks made to agree (the chosen one `showing`, the others `disabled`). The
// tracks are the player's own <track> elements (hls.js) or the master playlist's subtitles (the
// browser's own HLS): either way they are matched by language. Until this browser has chosen, the
// browser's own choice (Safari follows the system's caption setting) is left alone and followed.

import type { Caption } from '../api';
import { CAPTIONS_OFF, CaptionChoiceStore, captionFor, isCaptionTrack, normalizeLang, showOnly, trackFor, type TextTrackLike } from './captions';

/** What the controls use of `video.textTracks`. */
export interface TextTrackListLike extends EventTarget {
  readonly length: number;
  readonly [index: number]: TextTrackLike;
}

export class CaptionControls {
  #captions = $state.raw<Caption[]>([]);
  /** The language shown, or null: off. */
  #lang = $state<string | null>(null);
  /** This browser has a choice (remembered, or made here): the tracks follow it. */
  #chosen = false;
  /** The last language shown, for the `c` key. */
  #lastLang: string | null = null;
  #tracks: TextTrackListLike | null = null;
  readonly #store: Pick<CaptionChoiceStore, 'get' | 'set'>;

  constructor(store: Pick<CaptionChoiceStore, 'get' | 'set'> = new CaptionChoiceStore()) {
    this.#store = store;
    const saved = store.get();
    if (saved) {
      this.#chosen = true;
      this.#lang = saved.lang;
      this.#lastLang = saved.lang;
    }
  }

  /** The video has captions: the menu (and the `c` key) is offered. */
  get available(): boolean {
    return this.#captions.length > 0;
  }
  get captions(): readonly Caption[] {
    return this.#captions;
  }
  get options(): { value: number; label: string }[] {
    return [{ value: CAPTIONS_OFF, label: 'Off' }, ...this.#captions.map((c, i) => ({ value: i, label: c.label }))];
  }
  /** The caption shown (an index in `captions`), or CAPTIONS_OFF. */
  get selected(): number {
    return captionFor(this.#captions, this.#lang);
  }
  /** `Off`, or the label of what is shown. */
  get description(): string {
    const i = this.selected;
    return i === CAPTIONS_OFF ? 'Off' : this.#captions[i].label;
  }
  get showing(): boolean {
    return this.selected !== CAPTIONS_OFF;
  }

  /** The video's caption tracks (and again whenever they change). */
  setCaptions(captions: readonly Caption[]): void {
    this.#captions = [...captions];
    this.#apply();
  }

  /** Follows the element's text tracks; returns the uninstaller. */
  attach(tracks: TextTrackListLike): () => void {
    this.#tracks = tracks;
    const onTracks = () => this.#apply();
    const onChange = () => this.#follow();
    tracks.addEventListener('addtrack', onTracks);
    tracks.addEventListener('removetrack', onTracks);
    tracks.addEventListener('change', onChange);
    this.#apply();
    return () => {
      tracks.removeEventListener('addtrack', onTracks);
      tracks.removeEventListener('removetrack', onTracks);
      tracks.removeEventListener('change', onChange);
      if (this.#tracks === tracks) this.#tracks = null;
    };
  }

  /** The menu's choice (an index in `captions`, or CAPTIONS_OFF), remembered for the next videos. */
  select(index: number): void {
    const caption = this.#captions[index];
    const lang = caption ? normalizeLang(caption.lang) : null;
    this.#chosen = true;
    this.#lang = lang;
    if (lang) this.#lastLang = lang;
    this.#store.set(lang);
    this.#apply();
  }

  /** The `c` key: off when on; else the last language (this browser's), or the first track. */
  toggle(): void {
    if (!this.available) return;
    if (this.showing) return this.select(CAPTIONS_OFF);
    const again = captionFor(this.#captions, this.#lastLang);
    this.select(again === CAPTIONS_OFF ? 0 : again);
  }

  #list(): TextTrackLike[] {
    const tracks = this.#tracks;
    if (!tracks) return [];
    const out: TextTrackLike[] = [];
    for (let i = 0; i < tracks.length; i++) out.push(tracks[i]);
    return out;
  }

  /** The tracks as chosen (once there is a choice); before that, what the browser shows. */
  #apply(): void {
    if (!this.#chosen) return this.#follow();
    const i = this.selected;
    const tracks = this.#list();
    showOnly(tracks, i === CAPTIONS_OFF ? null : trackFor(tracks, this.#captions[i]));
  }

  /** A track was shown or hidden from elsewhere (the browser's own menu, iOS full screen): the menu says so. */
  #follow(): void {
    const tracks = this.#list();
    const shown = tracks.find((t) => isCaptionTrack(t) && t.mode === 'showing');
    if (!shown) {
      // The chosen track is not there yet (its <track> comes once the stream is attached): nothing
      // was turned off.
      const i = this.selected;
      if (i !== CAPTIONS_OFF && !trackFor(tracks, this.#captions[i])) return;
      this.#lang = null;
      return;
    }
    this.#lang = normalizeLang(shown.language);
    this.#lastLang = this.#lang;
  }
}

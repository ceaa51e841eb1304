// The state of one player's own controls (one instance per player): playing or paused, muted and the
// volume, speed, quality level, captions, full screen, picture-in-picture. The <video> stays the truth:
// every change is asked of the element, and the state follows its events (so a key, our buttons, the
// picture-in-picture window and iOS's own full-screen controls all agree). Seeking never goes past
// what can be played yet while the upload runs (`setPlayableLimit`).

import { CaptionControls } from './caption-controls.svelte';
import { AUTO, autoLabel, hasQualityChoice, qualityOptions, qualityText, type LevelInfo, type QualityOption } from './quality';
import { focusInfo, shortcutFor, type KeyInfo, type ShortcutAction } from './shortcuts';
import { clampSpeed, SPEEDS, speedOptionLabel, speedText, stepSpeed } from './speed';

/** What the controls use of a <video>. */
export interface ControlledMedia extends EventTarget {
  currentTime: number;
  readonly duration: number;
  readonly paused: boolean;
  readonly ended: boolean;
  muted: boolean;
  volume?: number;
  playbackRate: number;
  defaultPlaybackRate: number;
  readonly seekable: Pick<TimeRanges, 'length' | 'start' | 'end'>;
  play(): Promise<void>;
  pause(): void;
  requestPictureInPicture?(): Promise<unknown>;
  disablePictureInPicture?: boolean;
  /** iOS Safari: the only full screen an iPhone has. */
  webkitEnterFullscreen?(): void;
}

/** What the controls use of the document. */
export interface ControlledDocument extends EventTarget {
  readonly fullscreenEnabled?: boolean;
  readonly fullscreenElement?: Element | null;
  exitFullscreen?(): Promise<void>;
  readonly pictureInPictureEnabled?: boolean;
  readonly pictureInPictureElement?: Element | null;
  exitPictureInPicture?(): Promise<void>;
}

/** What goes full screen: the whole player, so that its own controls stay in view. */
export interface FullscreenTarget {
  requestFullscreen?(): Promise<void>;
}

/** The stream's side of quality (`PlayerHandle` of player.ts). */
export interface QualitySwitch {
  readonly hlsJs: boolean;
  setLevel(index: number): void;
}

export interface KeyEventLike extends KeyInfo {
  target: EventTarget | null;
  preventDefault(): void;
  stopPropagation?(): void;
}

const ignore = () => {};

export class PlayerControls {
  /** The captions menu (and the `c` key). */
  readonly captions: CaptionControls;

  constructor(captions: CaptionControls = new CaptionControls()) {
    this.captions = captions;
  }

  #paused = $state(true);
  #started = $state(false);
  #muted = $state(false);
  #volume = $state(1);
  #rate = $state(1);
  #levels = $state.raw<LevelInfo[]>([]);
  #hlsJs = $state(false);
  #selected = $state(AUTO);
  #playing = $state(-1);
  #fullscreen = $state(false);
  #pip = $state(false);
  #canFullscreen = $state(false);
  #canPip = $state(false);

  #media: ControlledMedia | null = null;
  #container: FullscreenTarget | null = null;
  #doc: ControlledDocument | null = null;
  #stream: QualitySwitch | null = null;
  /** How far can be played from 0:00 while the upload runs (null: all of it). */
  #playable: number | null = null;
  /** The key whose keydown was a shortcut, until its keyup. */
  #keyDown: string | null = null;

  get paused(): boolean {
    return this.#paused;
  }
  /** Playback has started at least once (the big play button has done its job). */
  get started(): boolean {
    return this.#started;
  }
  get muted(): boolean {
    return this.#muted;
  }
  /** 0–1. */
  get volume(): number {
    return this.#volume;
  }
  get rate(): number {
    return this.#rate;
  }
  get rateText(): string {
    return speedText(this.#rate);
  }
  get speedOptions(): { value: number; label: string }[] {
    return SPEEDS.map((s) => ({ value: s, label: speedOptionLabel(s) }));
  }
  /** The quality menu is offered: hls.js plays a stream of several levels. */
  get showQuality(): boolean {
    return hasQualityChoice(this.#levels, this.#hlsJs);
  }
  get qualityOptions(): QualityOption[] {
    return qualityOptions(this.#levels, this.#playing);
  }
  /** The chosen level's index, or `AUTO`. */
  get quality(): number {
    return this.#selected;
  }
  get qualityText(): string {
    return qualityText(this.#levels, this.#selected);
  }
  /** What plays now, for the button's name: `Auto (720p)` or `720p`. */
  get qualityDescription(): string {
    return this.#selected === AUTO ? autoLabel(this.#levels, this.#playing) : this.qualityText;
  }
  get fullscreen(): boolean {
    return this.#fullscreen;
  }
  get canFullscreen(): boolean {
    return this.#canFullscreen;
  }
  get pip(): boolean {
    return this.#pip;
  }
  get canPip(): boolean {
    return this.#canPip;
  }
  /** Full screen is the player's (not the <video>'s alone): the browser's own button can go. */
  get ownsFullscreen(): boolean {
    return !!(this.#doc?.fullscreenEnabled && this.#container?.requestFullscreen);
  }

  /** Follows `media` (and the document, for full screen); returns the uninstaller. */
  attach(media: ControlledMedia, container: FullscreenTarget, doc: ControlledDocument): () => void {
    this.#media = media;
    this.#container = container;
    this.#doc = doc;
    this.#paused = media.paused;
    this.#muted = media.muted;
    this.#volume = media.volume ?? 1;
    this.#rate = media.playbackRate || 1;
    this.#canFullscreen = this.ownsFullscreen || typeof media.webkitEnterFullscreen === 'function';
    this.#canPip = !!doc.pictureInPictureEnabled && typeof media.requestPictureInPicture === 'function' && !media.disablePictureInPicture;

    const on: Array<[EventTarget, string, () => void]> = [
      [media, 'play', () => ((this.#paused = false), (this.#started = true))],
      [media, 'pause', () => (this.#paused = true)],
      [media, 'ended', () => (this.#paused = true)],
      [media, 'volumechange', () => ((this.#muted = media.muted), (this.#volume = media.volume ?? 1))],
      [media, 'ratechange', () => (this.#rate = media.playbackRate)],
      [media, 'enterpictureinpicture', () => (this.#pip = true)],
      [media, 'leavepictureinpicture', () => (this.#pip = false)],
      [media, 'webkitbeginfullscreen', () => (this.#fullscreen = true)],
      [media, 'webkitendfullscreen', () => (this.#fullscreen = false)],
      [doc, 'fullscreenchange', () => (this.#fullscreen = !!doc.fullscreenElement && doc.fullscreenElement === (container as unknown))],
    ];
    for (const [target, type, handler] of on) target.addEventListener(type, handler);
    return () => {
      for (const [target, type, handler] of on) target.removeEventListener(type, handler);
      if (this.#media === media) this.#media = null;
    };
  }

  /** The stream is attached: quality goes through it. */
  setStream(stream: QualitySwitch): void {
    this.#stream = stream;
    this.#hlsJs = stream.hlsJs;
    if (this.#selected !== AUTO) stream.setLevel(this.#selected);
  }

  /** hls.js's levels (on the manifest, and whenever it drops one). */
  setLevels(levels: readonly LevelInfo[]): void {
    this.#levels = levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate }));
    if (this.#selected >= this.#levels.length) this.#selected = AUTO;
    if (this.#playing >= this.#levels.length) this.#playing = -1;
  }

  /** The level that plays now. */
  levelSwitched(index: number): void {
    this.#playing = index;
  }

  selectQuality(index: number): void {
    const value = index >= 0 && index < this.#levels.length ? index : AUTO;
    this.#selected = value;
    this.#stream?.setLevel(value);
  }

  play(): void {
    this.#media?.play().catch(ignore);
  }

  togglePlay(): void {
    const m = this.#media;
    if (!m) return;
    if (m.paused || m.ended) this.play();
    else m.pause();
  }

  /** While the upload runs: how far can be played from 0:00 (null once all of it can). */
  setPlayableLimit(seconds: number | null): void {
    this.#playable = seconds != null && Number.isFinite(seconds) ? Math.max(0, seconds) : null;
  }

  /** Goes to `seconds`, within what can be reached (and played). */
  seekTo(seconds: number): void {
    const m = this.#media;
    if (!m || Number.isNaN(seconds)) return;
    const ranges = m.seekable;
    let start = 0;
    let end = Number.isFinite(m.duration) && m.duration > 0 ? m.duration : Infinity;
    if (ranges.length > 0) {
      start = ranges.start(0);
      end = Math.min(end, ranges.end(ranges.length - 1));
    }
    // The limit is what the server last said: playback may already be further on (never sent back).
    if (this.#playable !== null) end = Math.min(end, Math.max(this.#playable, Number.isFinite(m.currentTime) ? m.currentTime : 0));
    const target = Math.min(end, Math.max(start, seconds));
    if (Number.isFinite(target)) m.currentTime = target;
  }

  /** Back (negative) or forward, within what can be reached. */
  seekBy(seconds: number): void {
    const m = this.#media;
    if (!m || !Number.isFinite(m.currentTime)) return;
    this.seekTo(m.currentTime + seconds);
  }

  toggleMute(): void {
    const m = this.#media;
    if (!m) return;
    // Unmuting at no volume would still be silent.
    if (m.muted && m.volume === 0) m.volume = 0.5;
    m.muted = !m.muted;
  }

  /** 0–1; 0 mutes, and more unmutes. */
  setVolume(volume: number): void {
    const m = this.#media;
    if (!m || !Number.isFinite(volume)) return;
    const v = Math.min(1, Math.max(0, volume));
    m.volume = v;
    m.muted = v === 0;
  }

  setRate(rate: number): void {
    const r = clampSpeed(rate);
    this.#rate = r;
    const m = this.#media;
    if (!m) return;
    // The default too: a reload of the media (hls.js recovering) keeps the speed.
    m.defaultPlaybackRate = r;
    m.playbackRate = r;
  }

  toggleFullscreen(): void {
    const doc = this.#doc;
    if (doc?.fullscreenElement) {
      doc.exitFullscreen?.().catch(ignore);
    } else if (this.ownsFullscreen) {
      this.#container?.requestFullscreen?.().catch(ignore);
    } else {
      this.#media?.webkitEnterFullscreen?.();
    }
  }

  togglePip(): void {
    const doc = this.#doc;
    if (doc?.pictureInPictureElement) doc.exitPictureInPicture?.().catch(ignore);
    else if (this.#canPip) this.#media?.requestPictureInPicture?.().catch(ignore);
  }

  run(action: ShortcutAction): void {
    switch (action.kind) {
      case 'toggle-play':
        return this.togglePlay();
      case 'seek':
        return this.seekBy(action.by);
      case 'fullscreen':
        return this.toggleFullscreen();
      case 'mute':
        return this.toggleMute();
      case 'captions':
        return this.captions.toggle();
      case 'speed':
        return this.setRate(stepSpeed(this.#rate, action.step));
    }
  }

  /**
   * A key pressed anywhere on the page: a shortcut is acted on and its default prevented. To be called
   * in the capture phase: Chromium's own controls act on keys when the <video> (or a control inside
   * it) has the focus, some from listeners inside the element; a shortcut pressed there goes no further
   * (Enter still works their buttons).
   */
  handleKey(e: KeyEventLike): boolean {
    if (!this.#media) return false;
    const action = shortcutFor(e, focusInfo(e.target));
    // No captions: `c` is left to the page.
    if (!action || (action.kind === 'captions' && !this.captions.available)) return false;
    e.preventDefault();
    if (e.target === this.#media) e.stopPropagation?.();
    this.#keyDown = e.key;
    this.run(action);
    return true;
  }

  /** The keyup of a shortcut's key goes the same way (Chromium's controls toggle playback on the keyup of space). */
  handleKeyUp(e: Pick<KeyEventLike, 'key' | 'target' | 'preventDefault' | 'stopPropagation'>): void {
    if (this.#keyDown === null || e.key !== this.#keyDown) return;
    this.#keyDown = null;
    e.preventDefault();
    if (e.target === this.#media) e.stopPropagation?.();
  }
}

// Attaches an HLS stream to a <video>: hls.js (bundled, loaded on demand) over Media Source Extensions,
// or the browser's own HLS on Apple's engine (Safari, every iOS browser) and where MSE is missing.
//
// Playback starts at 0:00 even while the playlist is still an open EVENT playlist (during the upload
// and the processing): hls.js gets `startPosition: 0` and never chases the live edge; when processing
// ends the playlist gains ENDLIST on its next reload and the whole video becomes seekable.
//
// - `lowLatencyMode`: the server answers `?_HLS_msn=N` by holding the request until segment N exists
//   (`CAN-BLOCK-RELOAD=YES`, no parts), so hls.js asks for the next segment at once instead of
//   polling every target duration: a segment plays as soon as it is made.
// - When the duration is known (read from the file's index), hls.js is attached with it
//   (`MediaOverrides`): the controls show the real length from the start, not a growing one.
// - A viewer coming back starts where this browser left off (`startPosition`, watch/resume.ts).
// - hls.js's levels (renditions) are passed on for the quality menu, and one can be chosen; the
//   browser's own HLS picks for itself (no levels, no menu).
//
// hls.js is imported as `hls.js/light`: no subtitle or alternate-audio support (nor EME, CMCD, content
// steering): the player adds the captions as <track> elements of its own when hls.js plays the stream
// (`PlayerHandle.hlsJs`); the browser's own HLS reads them from the master playlist.

import type { HlsConfig } from 'hls.js';
import workerUrl from 'hls.js/dist/hls.worker.js?url';

export interface PlayerHandle {
  destroy(): void;
  /** hls.js plays the stream (false: the browser's own HLS, or nothing). */
  readonly hlsJs: boolean;
  /** Plays a level (an index in what `onLevels` gave) from the next segment on, or -1: automatic. */
  setLevel(index: number): void;
}

/** A level (rendition) of the stream, as hls.js describes it. */
export interface StreamLevel {
  width?: number;
  height?: number;
  bitrate?: number;
}

export interface AttachOptions {
  onFatalError?(message: string): void;
  /** The video's full duration when known (null before the server has read the index). */
  durationSeconds?: number | null;
  /** Where to start, in seconds (default 0:00). */
  startPosition?: number;
  /** hls.js's levels, once the master playlist is read and whenever they change. */
  onLevels?(levels: StreamLevel[]): void;
  /** hls.js switched to another level. */
  onLevelSwitched?(index: number): void;
}

const HLS_TYPE = 'application/vnd.apple.mpegurl';

function isAppleEngine(): boolean {
  return typeof navigator !== 'undefined' && /apple/i.test(navigator.vendor ?? '');
}

/** Native playback where asked for: Apple's engine says it can, or hls.js cannot run at all. */
export function shouldUseNative(canPlayNative: boolean, mseSupported: boolean, appleEngine: boolean): boolean {
  if (!canPlayNative) return false;
  return appleEngine || !mseSupported;
}

/** A blocking playlist reload may be held until the uploader sends the next seconds: be patient. */
const PATIENT_PLAYLIST_LOADING = {
  maxTimeToFirstByteMs: 30_000,
  maxLoadTimeMs: 40_000,
  timeoutRetry: { maxNumRetry: 4, retryDelayMs: 0, maxRetryDelayMs: 0 },
  errorRetry: { maxNumRetry: 6, retryDelayMs: 1000, maxRetryDelayMs: 8000 },
};

/** hls.js settings: from 0:00, never towards the live edge, next segment asked for at once. */
export function hlsConfig(workerPath: string, startPosition = 0): Partial<HlsConfig> {
  return {
    startPosition: Number.isFinite(startPosition) && startPosition > 0 ? startPosition : 0,
    workerPath,
    enableWorker: true,
    lowLatencyMode: true,
    // An open (EVENT) playlist is "live" to hls.js: never skip ahead to catch up with its end, never
    // play faster to reach it. (hls.js insists that both counts be given together.)
    liveSyncDurationCount: 3,
    liveMaxLatencyDurationCount: Infinity,
    maxLiveSyncPlaybackRate: 1,
    liveDurationInfinity: false,
    backBufferLength: 90,
    playlistLoadPolicy: { default: PATIENT_PLAYLIST_LOADING },
    // With lower renditions listed, start on the one the link can carry: one small segment of the lowest is
    // fetched first to measure it, instead of starting on the original's bitrate over a slow link.
    startLevel: -1,
    testBandwidth: true,
  };
}

/** What `hls.attachMedia` gets: the element, with the real duration when it is known. */
export function mediaAttachment(
  media: HTMLMediaElement,
  durationSeconds: number | null | undefined,
): HTMLMediaElement | { media: HTMLMediaElement; overrides: { duration: number } } {
  if (durationSeconds != null && Number.isFinite(durationSeconds) && durationSeconds > 0) {
    return { media, overrides: { duration: durationSeconds } };
  }
  return media;
}

/** The part of hls.js this module uses (a fake stands in for it in tests). */
export interface HlsLike {
  on(event: string, handler: (event: string, data: never) => void): void;
  readonly levels: StreamLevel[];
  nextLevel: number;
  loadSource(src: string): void;
  attachMedia(data: HTMLMediaElement | { media: HTMLMediaElement; overrides: { duration: number } }): void;
  recoverMediaError(): void;
  startLoad(): void;
  destroy(): void;
}

export interface HlsModule {
  default: {
    new (config: Partial<HlsConfig>): HlsLike;
    isSupported(): boolean;
    Events: { ERROR: string; MANIFEST_PARSED: string; LEVELS_UPDATED: string; LEVEL_SWITCHED: string };
    ErrorTypes: { MEDIA_ERROR: string; NETWORK_ERROR: string };
  };
}

const loadHlsJs = () => import('hls.js/light') as unknown as Promise<HlsModule>;

export async function attachStream(
  video: HTMLVideoElement,
  src: string,
  options: AttachOptions = {},
  loadHls: () => Promise<HlsModule> = loadHlsJs,
  appleEngine: boolean = isAppleEngine(),
): Promise<PlayerHandle> {
  const { default: Hls } = await loadHls();
  const native = video.canPlayType(HLS_TYPE) !== '';
  if (shouldUseNative(native, Hls.isSupported(), appleEngine)) {
    return attachNative(video, src, options.startPosition ?? 0);
  }
  if (!Hls.isSupported()) {
    options.onFatalError?.('This browser cannot play this video. Try a recent Chrome, Firefox, Edge or Safari.');
    return { destroy() {}, hlsJs: false, setLevel() {} };
  }

  const hls = new Hls(hlsConfig(workerUrl, options.startPosition));
  let mediaRecoveries = 0;
  let destroyed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const levels = () => options.onLevels?.(hls.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate })));
  hls.on(Hls.Events.MANIFEST_PARSED, levels);
  hls.on(Hls.Events.LEVELS_UPDATED, levels);
  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data: { level: number }) => options.onLevelSwitched?.(data.level));
  hls.on(Hls.Events.ERROR, (_event, data: { fatal: boolean; type: string }) => {
    if (!data.fatal || destroyed) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 2) {
      mediaRecoveries++;
      hls.recoverMediaError();
      return;
    }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      // The server may be restarting, the connection flaky, or the uploader slow: try again shortly.
      clearTimeout(retry);
      retry = setTimeout(() => {
        if (!destroyed) hls.startLoad();
      }, 2000);
      return;
    }
    options.onFatalError?.('Playback failed. Reload the page to try again.');
  });
  hls.loadSource(src);
  hls.attachMedia(mediaAttachment(video, options.durationSeconds));
  return {
    hlsJs: true,
    setLevel(index: number) {
      // From the next segment on, without a stall (hls.js: -1 is automatic).
      if (!destroyed) hls.nextLevel = index >= 0 && index < hls.levels.length ? index : -1;
    },
    destroy() {
      destroyed = true;
      clearTimeout(retry);
      hls.destroy();
    },
  };
}

function attachNative(video: HTMLVideoElement, src: string, startPosition: number): PlayerHandle {
  // Some engines open an EVENT playlist at its live end: bring the first start back to 0:00 (or to
  // where this browser left off).
  const toStart = () => {
    if (startPosition > 0) {
      video.currentTime = startPosition;
    } else if (video.currentTime > 1 && video.seekable.length > 0 && video.seekable.start(0) < 1) {
      video.currentTime = 0;
    }
  };
  video.addEventListener('loadedmetadata', toStart, { once: true });
  video.src = src;
  return {
    hlsJs: false,
    setLevel() {},
    destroy() {
      video.removeEventListener('loadedmetadata', toStart);
      video.removeAttribute('src');
      video.load();
    },
  };
}

/** What starvation needs of a media element. */
export interface MediaLike extends EventTarget {
  readonly currentTime: number;
  readonly buffered: Pick<TimeRanges, 'length' | 'start' | 'end'>;
}

/**
 * The playhead has reached the end of what is buffered (or sits where nothing is): playback waits
 * for bytes, not for the decoder.
 */
export function atBufferEnd(media: Pick<MediaLike, 'currentTime' | 'buffered'>, tolerance = 0.5): boolean {
  const t = media.currentTime;
  const ranges = media.buffered;
  for (let i = 0; i < ranges.length; i++) {
    if (t >= ranges.start(i) - 0.1 && t <= ranges.end(i)) return ranges.end(i) - t < tolerance;
  }
  return true;
}

/**
 * Calls `onChange(true)` when playback stops to wait for data at the end of the buffer (`waiting`),
 * and `onChange(false)` as soon as it can go on. Returns the uninstaller.
 */
export function watchStarvation(media: MediaLike, onChange: (starved: boolean) => void): () => void {
  let starved = false;
  const set = (value: boolean) => {
    if (value === starved) return;
    starved = value;
    onChange(value);
  };
  const onWaiting = () => set(atBufferEnd(media));
  const onResumed = () => set(false);
  const resumedEvents = ['playing', 'canplay', 'emptied', 'ended'];
  media.addEventListener('waiting', onWaiting);
  for (const e of resumedEvents) media.addEventListener(e, onResumed);
  return () => {
    media.removeEventListener('waiting', onWaiting);
    for (const e of resumedEvents) media.removeEventListener(e, onResumed);
  };
}

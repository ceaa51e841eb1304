// A video's status, as pages show it: status JSON → loading / waiting / playable / ready / error / gone,
// and when to ask again. The share page and the rows of "My videos" read the same states.

import { ABANDONED_MESSAGE, UPLOAD_ABANDONED, type Video } from '../api';
import { formatPercent, receivedPercent, toPercent } from '../format';

export type ShareEvent =
  | { type: 'status'; video: Video }
  | { type: 'not_found' }
  /** A password-protected video this browser has not unlocked: nothing about it is known. */
  | { type: 'locked' }
  | { type: 'failed'; message: string };

/** What is still going on: the bytes are arriving, or the video is being processed. */
export type Stage = 'uploading' | 'processing';

export type ShareView =
  | { kind: 'loading' }
  | { kind: 'gone'; message: string }
  /** The video wants its password before anything of it is shown. */
  | { kind: 'locked' }
  /** No answer yet and the server cannot be reached. */
  | { kind: 'unreachable'; message: string }
  /** Nothing to play yet: “Uploading 43 %” (received) or “Processing 40 %”. */
  | { kind: 'waiting'; stage: Stage; video: Video; percent: number; label: string; warning: string | null }
  /** Playback can start at 0:00 while the upload or the processing goes on. */
  | { kind: 'playable'; stage: Stage; video: Video; percent: number; label: string; warning: string | null }
  | { kind: 'ready'; video: Video; warning: string | null }
  /** Processing failed (or the upload was abandoned): the reason replaces the player. */
  | { kind: 'error'; video: Video; message: string };

export const GONE_MESSAGE = 'This video does not exist or was deleted.';
const DEFAULT_ERROR = 'This video could not be processed.';

export const initialView: ShareView = { kind: 'loading' };

/** The one line that says what is going on, for the stage (nothing to play yet) or under the player. */
export function stageLabel(stage: Stage, playable: boolean, percent: number): string {
  const p = formatPercent(percent);
  if (stage === 'uploading') return playable ? `Still uploading — ${p} received` : `Uploading ${p}`;
  return playable ? `Playable — still processing ${p}` : `Processing ${p}`;
}

/** The view for a status answer. */
export function viewOfVideo(video: Video): ShareView {
  if (video.status === 'error') {
    const message = video.error?.code === UPLOAD_ABANDONED ? ABANDONED_MESSAGE : video.error?.message || DEFAULT_ERROR;
    return { kind: 'error', video, message };
  }
  if (video.status === 'ready') return { kind: 'ready', video, warning: null };
  const stage: Stage = video.status === 'uploading' ? 'uploading' : 'processing';
  const percent = stage === 'uploading' ? receivedPercent(video.receivedBytes, video.sizeBytes) : toPercent(video.progress);
  const kind = video.playable ? 'playable' : 'waiting';
  return { kind, stage, video, percent, label: stageLabel(stage, video.playable, percent), warning: null };
}

/** The next view, from the previous one and what just happened. */
export function reduce(prev: ShareView, event: ShareEvent): ShareView {
  switch (event.type) {
    case 'status':
      return viewOfVideo(event.video);
    case 'not_found':
      // A ready video being watched stays on screen (what is buffered plays; a follow-up question for its storyboard
      // must not pull the player from under a viewer whose view was the last one allowed).
      if (prev.kind === 'ready') return prev;
      return { kind: 'gone', message: GONE_MESSAGE };
    case 'locked':
      return { kind: 'locked' };
    case 'failed':
      // A hiccup while we already know the video: keep showing it (playback goes on), say so quietly.
      if (prev.kind === 'waiting' || prev.kind === 'playable' || prev.kind === 'ready') {
        return { ...prev, warning: event.message };
      }
      if (prev.kind === 'error' || prev.kind === 'gone' || prev.kind === 'locked') return prev;
      return { kind: 'unreachable', message: event.message };
  }
}

/** The status while bytes arrive: about once a second, so the percent and the player keep up. */
export const POLL_UPLOADING_MS = 1000;
/** Processing, nothing to play yet: the first segment is about a second away. */
export const POLL_PREPARING_MS = 300;
export const POLL_PROCESSING_MS = 2000;
export const POLL_RETRY_MS = 3000;
/** A row of "My videos" needs less. */
export const POLL_LIST_MS = 3000;

/** Milliseconds until the share page asks again, or `null` to stop. */
export function nextPollDelay(view: ShareView): number | null {
  switch (view.kind) {
    case 'loading':
      return 0;
    case 'waiting':
    case 'playable':
      if (view.warning) return POLL_RETRY_MS;
      if (view.stage === 'uploading') return POLL_UPLOADING_MS;
      return view.kind === 'waiting' ? POLL_PREPARING_MS : POLL_PROCESSING_MS;
    case 'unreachable':
      return POLL_RETRY_MS;
    case 'ready':
      return view.warning ? POLL_RETRY_MS : null;
    case 'gone':
    case 'error':
    case 'locked':
      return null;
  }
}

/** Questions asked after `ready` while the seek-bar previews are still being made (about 40 s at most). */
export const STORYBOARD_POLLS = 20;

/**
 * The share page's policy: {@link nextPollDelay}, then, once the video is ready, a few more questions until its
 * storyboard is listed (it is made from the original, often a second after `ready`). One per page.
 */
export function sharePollDelay(): (view: ShareView) => number | null {
  let afterReady = 0;
  return (view) => {
    const delay = nextPollDelay(view);
    if (delay !== null || view.kind !== 'ready' || view.video.storyboardUrl) return delay;
    afterReady += 1;
    return afterReady <= STORYBOARD_POLLS ? POLL_PROCESSING_MS : null;
  };
}

/** Milliseconds until a row of "My videos" asks again, or `null` to stop. */
export function listPollDelay(view: ShareView): number | null {
  switch (view.kind) {
    case 'loading':
      return 0;
    case 'waiting':
    case 'playable':
    case 'unreachable':
      return POLL_LIST_MS;
    case 'ready':
      return view.warning ? POLL_LIST_MS : null;
    case 'gone':
    case 'error':
    case 'locked':
      return null;
  }
}

/** True when the player should exist (and start loading the stream). */
export function canPlay(view: ShareView): view is Extract<ShareView, { kind: 'playable' | 'ready' }> {
  return view.kind === 'playable' || view.kind === 'ready';
}

/** The video, when the view knows it. */
export function videoOf(view: ShareView): Video | null {
  return 'video' in view ? view.video : null;
}

/** What the player's place shows while there is nothing to play (yet), or when it cannot be played. */
export interface StageNotice {
  title: string;
  detail: string;
  /** A failure (an icon, read out at once) or something on its way (a spinner). */
  tone: 'error' | 'busy';
  /** Shown over the video's poster, when it has one. */
  overPoster: boolean;
}

export const LOCKED_TITLE = 'This video is protected by a password';
export const LOCKED_HINT = 'Enter the password you were given with the link to watch it.';
export const GONE_HINT = 'Check that the link is complete, or ask whoever shared it for a new one.';

/**
 * What the stage says when the player is not there: the processing failed, the server cannot be
 * reached, the video is still arriving (`sending`: from this very browser), or its status is coming.
 */
export function stageNotice(view: ShareView, sending = false): StageNotice {
  if (view.kind === 'error') return { tone: 'error', title: "This video can't be played", detail: view.message, overPoster: false };
  if (view.kind === 'unreachable' && !sending) {
    return { tone: 'error', title: "Can't reach Flick", detail: `${view.message} Trying again…`, overPoster: false };
  }
  if (sending) return { tone: 'busy', title: 'Your video plays here in a moment', detail: 'As soon as its first seconds are uploaded.', overPoster: true };
  if (view.kind === 'waiting') {
    const detail = view.stage === 'uploading' ? 'It can be watched as soon as its first seconds are in.' : 'The video can be played in a moment.';
    return { tone: 'busy', title: view.label, detail, overPoster: true };
  }
  return { tone: 'busy', title: 'Loading…', detail: '', overPoster: false };
}

/** The CSS `aspect-ratio` of the video's picture (16 / 9 until its size is known). */
export function aspectRatio(video: Pick<Video, 'width' | 'height'> | null | undefined): string {
  return video?.width && video?.height ? `${video.width} / ${video.height}` : '16 / 9';
}

/** Taller than wide. */
export function isPortrait(video: Pick<Video, 'width' | 'height'> | null | undefined): boolean {
  return !!video?.width && !!video?.height && video.height > video.width;
}

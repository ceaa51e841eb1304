// The share page's state machine: what the status API says → what the page shows, and when to ask again.

import type { Video } from '../api';
import { toPercent } from '../format';

export type ShareEvent =
  | { type: 'status'; video: Video }
  | { type: 'not_found' }
  | { type: 'failed'; message: string };

export type ShareView =
  | { kind: 'loading' }
  | { kind: 'gone'; message: string }
  /** No answer yet and the server cannot be reached. */
  | { kind: 'unreachable'; message: string }
  /** Processing, nothing to play yet. */
  | { kind: 'preparing'; video: Video; label: string; warning: string | null }
  /** Processing, and playback can start at 0:00. */
  | { kind: 'playable'; video: Video; percent: number; label: string; warning: string | null }
  | { kind: 'ready'; video: Video; warning: string | null }
  /** Processing failed: the reason replaces the player. */
  | { kind: 'error'; video: Video; message: string };

export const GONE_MESSAGE = 'This video does not exist or was deleted.';
export const PREPARING_LABEL = 'Preparing…';
const DEFAULT_ERROR = 'This video could not be processed.';

export const initialView: ShareView = { kind: 'loading' };

export function playableLabel(percent: number): string {
  return `Playable — still processing ${percent}%`;
}

/** The view for a status answer. */
export function viewOfVideo(video: Video): ShareView {
  if (video.status === 'error') {
    return { kind: 'error', video, message: video.error?.message || DEFAULT_ERROR };
  }
  if (video.status === 'ready') return { kind: 'ready', video, warning: null };
  if (video.playable) {
    const percent = toPercent(video.progress);
    return { kind: 'playable', video, percent, label: playableLabel(percent), warning: null };
  }
  return { kind: 'preparing', video, label: PREPARING_LABEL, warning: null };
}

/** The next view, from the previous one and what just happened. */
export function reduce(prev: ShareView, event: ShareEvent): ShareView {
  switch (event.type) {
    case 'status':
      return viewOfVideo(event.video);
    case 'not_found':
      return { kind: 'gone', message: GONE_MESSAGE };
    case 'failed':
      // A hiccup while we already know the video: keep showing it (playback goes on), say so quietly.
      if (prev.kind === 'preparing' || prev.kind === 'playable' || prev.kind === 'ready') {
        return { ...prev, warning: event.message };
      }
      if (prev.kind === 'error' || prev.kind === 'gone') return prev;
      return { kind: 'unreachable', message: event.message };
  }
}

export const POLL_PREPARING_MS = 300;
export const POLL_PROCESSING_MS = 2000;
export const POLL_RETRY_MS = 3000;

/** Milliseconds until the status is asked again, or `null` to stop. */
export function nextPollDelay(view: ShareView): number | null {
  switch (view.kind) {
    case 'loading':
      return 0;
    case 'preparing':
      return view.warning ? POLL_RETRY_MS : POLL_PREPARING_MS;
    case 'playable':
      return view.warning ? POLL_RETRY_MS : POLL_PROCESSING_MS;
    case 'unreachable':
      return POLL_RETRY_MS;
    case 'ready':
      return view.warning ? POLL_RETRY_MS : null;
    case 'gone':
    case 'error':
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

import { describe, expect, it } from 'vitest';
import { video } from '../test-utils';
import {
  aspectRatio,
  canPlay,
  GONE_MESSAGE,
  initialView,
  isPortrait,
  listPollDelay,
  nextPollDelay,
  sharePollDelay,
  STORYBOARD_POLLS,
  POLL_LIST_MS,
  POLL_PREPARING_MS,
  POLL_PROCESSING_MS,
  POLL_RETRY_MS,
  POLL_UPLOADING_MS,
  reduce,
  stageNotice,
  videoOf,
  viewOfVideo,
  type ShareView,
} from './share-state';

describe('viewOfVideo', () => {
  it('uploading, nothing to play yet → “Uploading 43 %” from the bytes received', () => {
    const v = viewOfVideo(video({ status: 'uploading', playable: false, receivedBytes: 430, sizeBytes: 1000, progress: 0.9 }));
    expect(v).toMatchObject({ kind: 'waiting', stage: 'uploading', percent: 43, label: 'Uploading 43 %' });
    expect(canPlay(v)).toBe(false);
  });

  it('uploading and playable → the player, with “Still uploading — 43 % received”', () => {
    const v = viewOfVideo(video({ status: 'uploading', playable: true, playableSeconds: 6, receivedBytes: 43, sizeBytes: 100 }));
    expect(v).toMatchObject({ kind: 'playable', stage: 'uploading', label: 'Still uploading — 43 % received' });
    expect(canPlay(v)).toBe(true);
  });

  it('uploading without a byte count yet reads 0 %', () => {
    expect(viewOfVideo(video({ status: 'uploading', receivedBytes: undefined })).kind === 'waiting').toBe(true);
    expect(viewOfVideo(video({ status: 'uploading', receivedBytes: null, sizeBytes: 0 }))).toMatchObject({ percent: 0, label: 'Uploading 0 %' });
  });

  it('processing and not playable → “Processing 40 %”', () => {
    const v = viewOfVideo(video({ status: 'processing', playable: false, progress: 0.404 }));
    expect(v).toMatchObject({ kind: 'waiting', stage: 'processing', label: 'Processing 40 %' });
    expect(canPlay(v)).toBe(false);
  });

  it('processing and playable → the player, with “Playable — still processing 40 %”', () => {
    const v = viewOfVideo(video({ status: 'processing', playable: true, progress: 0.404 }));
    expect(v).toMatchObject({ kind: 'playable', stage: 'processing', percent: 40, label: 'Playable — still processing 40 %' });
    expect(canPlay(v)).toBe(true);
  });

  it('ready → the player, no progress', () => {
    const v = viewOfVideo(video({ status: 'ready', playable: true, progress: 1 }));
    expect(v.kind).toBe('ready');
    expect(canPlay(v)).toBe(true);
  });

  it('ready wins even if playable were false', () => {
    expect(viewOfVideo(video({ status: 'ready', playable: false })).kind).toBe('ready');
  });

  it('error → the reason instead of a player', () => {
    const v = viewOfVideo(video({ status: 'error', playable: true, error: { code: 'probe_failed', message: 'Not a video we can read.' } }));
    expect(v).toMatchObject({ kind: 'error', message: 'Not a video we can read.' });
    expect(canPlay(v)).toBe(false);
  });

  it('an abandoned upload says so in plain words', () => {
    const v = viewOfVideo(video({ status: 'error', error: { code: 'upload_abandoned', message: 'upload_abandoned' } }));
    expect(v).toMatchObject({ kind: 'error', message: 'The upload was cancelled or abandoned.' });
  });

  it('error without a reason still says something', () => {
    const v = viewOfVideo(video({ status: 'error', error: null }));
    expect(v.kind === 'error' && v.message).toBe('This video could not be processed.');
  });
});

describe('reduce', () => {
  it('404 → gone, with the plain sentence', () => {
    expect(reduce(initialView, { type: 'not_found' })).toEqual({ kind: 'gone', message: GONE_MESSAGE });
    expect(GONE_MESSAGE).toBe('This video does not exist or was deleted.');
  });

  it('a video deleted while watching (or its upload abandoned) becomes gone', () => {
    const playing = viewOfVideo(video({ status: 'uploading', playable: true, receivedBytes: 10 }));
    expect(reduce(playing, { type: 'not_found' }).kind).toBe('gone');
  });

  it('a ready video being watched stays on screen when a later question finds it gone (its last allowed view)', () => {
    const ready = viewOfVideo(video({ status: 'ready', playable: true, storyboardUrl: null }));
    expect(reduce(ready, { type: 'not_found' })).toBe(ready);
  });

  it('a network failure before any answer → unreachable', () => {
    expect(reduce(initialView, { type: 'failed', message: 'offline' })).toEqual({ kind: 'unreachable', message: 'offline' });
  });

  it('a network failure while playing keeps the player and warns quietly', () => {
    const playing = viewOfVideo(video({ playable: true, progress: 0.5 }));
    const next = reduce(playing, { type: 'failed', message: 'offline' });
    expect(next.kind).toBe('playable');
    expect('warning' in next && next.warning).toBe('offline');
    // …and the next good answer clears the warning.
    const again = reduce(next, { type: 'status', video: video({ playable: true, progress: 0.6 }) });
    expect('warning' in again && again.warning).toBeNull();
  });

  it('final states do not turn into unreachable', () => {
    const gone: ShareView = { kind: 'gone', message: GONE_MESSAGE };
    expect(reduce(gone, { type: 'failed', message: 'x' })).toBe(gone);
  });

  it('walks the whole life of a video watched while it uploads', () => {
    const steps = [
      video({ status: 'uploading', playable: false, receivedBytes: 0, sizeBytes: 100 }),
      video({ status: 'uploading', playable: true, receivedBytes: 20, sizeBytes: 100 }),
      video({ status: 'uploading', playable: true, receivedBytes: 100, sizeBytes: 100 }),
      video({ status: 'processing', playable: true, progress: 0.7 }),
      video({ status: 'ready', playable: true, progress: 1 }),
    ];
    let view: ShareView = initialView;
    const seen: string[] = [];
    for (const v of steps) {
      view = reduce(view, { type: 'status', video: v });
      seen.push('label' in view ? view.label : view.kind);
    }
    expect(seen).toEqual(['Uploading 0 %', 'Still uploading — 20 % received', 'Still uploading — 100 % received', 'Playable — still processing 70 %', 'ready']);
  });
});

describe('a password-protected video', () => {
  it('is locked until unlocked, and a failure does not hide the form', () => {
    const locked = reduce(initialView, { type: 'locked' });
    expect(locked).toEqual({ kind: 'locked' });
    expect(reduce(locked, { type: 'failed', message: 'offline' })).toEqual({ kind: 'locked' });
    expect(nextPollDelay(locked)).toBeNull();
    expect(listPollDelay(locked)).toBeNull();
    expect(canPlay(locked)).toBe(false);
    expect(videoOf(locked)).toBeNull();
  });
});

describe('nextPollDelay', () => {
  it('about every second while uploading, fast until playable, slower until done, then stops', () => {
    expect(nextPollDelay(initialView)).toBe(0);
    expect(POLL_UPLOADING_MS).toBe(1000);
    expect(nextPollDelay(viewOfVideo(video({ status: 'uploading', playable: false })))).toBe(POLL_UPLOADING_MS);
    expect(nextPollDelay(viewOfVideo(video({ status: 'uploading', playable: true })))).toBe(POLL_UPLOADING_MS);
    expect(nextPollDelay(viewOfVideo(video({ playable: false })))).toBe(POLL_PREPARING_MS);
    expect(POLL_PREPARING_MS).toBe(300);
    expect(nextPollDelay(viewOfVideo(video({ playable: true })))).toBe(POLL_PROCESSING_MS);
    expect(POLL_PROCESSING_MS).toBe(2000);
    expect(nextPollDelay(viewOfVideo(video({ status: 'ready', playable: true })))).toBeNull();
    expect(nextPollDelay(viewOfVideo(video({ status: 'error' })))).toBeNull();
    expect(nextPollDelay({ kind: 'gone', message: GONE_MESSAGE })).toBeNull();
  });

  it('the share page asks a few more times after ready, until the storyboard is listed', () => {
    const policy = sharePollDelay();
    const ready = viewOfVideo(video({ status: 'ready', playable: true, storyboardUrl: null }));
    expect(policy(viewOfVideo(video({ playable: true })))).toBe(POLL_PROCESSING_MS);
    for (let i = 0; i < STORYBOARD_POLLS; i++) expect(policy(ready)).toBe(POLL_PROCESSING_MS);
    expect(policy(ready)).toBeNull();
    const listed = viewOfVideo(video({ status: 'ready', playable: true, storyboardUrl: '/streams/x/storyboard.vtt' }));
    expect(sharePollDelay()(listed)).toBeNull();
  });

  it('backs off while the server cannot be reached', () => {
    expect(nextPollDelay({ kind: 'unreachable', message: 'x' })).toBe(POLL_RETRY_MS);
    const warned = reduce(viewOfVideo(video({ status: 'uploading', playable: false })), { type: 'failed', message: 'x' });
    expect(nextPollDelay(warned)).toBe(POLL_RETRY_MS);
  });

  it('rows of My videos ask every few seconds until the video is done', () => {
    expect(listPollDelay(initialView)).toBe(0);
    expect(listPollDelay(viewOfVideo(video({ status: 'uploading' })))).toBe(POLL_LIST_MS);
    expect(listPollDelay(viewOfVideo(video({ playable: true })))).toBe(POLL_LIST_MS);
    expect(listPollDelay({ kind: 'unreachable', message: 'x' })).toBe(POLL_LIST_MS);
    expect(listPollDelay(viewOfVideo(video({ status: 'ready' })))).toBeNull();
    expect(listPollDelay(viewOfVideo(video({ status: 'error' })))).toBeNull();
  });
});

describe('stageNotice', () => {
  it('a failure is said as such, with the reason', () => {
    const v = viewOfVideo(video({ status: 'error', error: { code: 'bad_media', message: 'No video stream.' } }));
    expect(stageNotice(v)).toEqual({ tone: 'error', title: "This video can't be played", detail: 'No video stream.', overPoster: false });
    // Even while this browser still thinks it is sending.
    expect(stageNotice(v, true).tone).toBe('error');
  });

  it('no answer at all: the server cannot be reached (unless this browser is sending the video)', () => {
    const v: ShareView = { kind: 'unreachable', message: 'Could not reach the server.' };
    expect(stageNotice(v)).toMatchObject({ tone: 'error', title: "Can't reach Flick", detail: 'Could not reach the server. Trying again…' });
    expect(stageNotice(v, true)).toMatchObject({ tone: 'busy', title: 'Your video plays here in a moment', overPoster: true });
  });

  it('waiting: the stage and its percent, over the poster', () => {
    const up = viewOfVideo(video({ status: 'uploading', playable: false, receivedBytes: 430, sizeBytes: 1000 }));
    expect(stageNotice(up)).toEqual({ tone: 'busy', title: 'Uploading 43 %', detail: 'It can be watched as soon as its first seconds are in.', overPoster: true });
    const proc = viewOfVideo(video({ status: 'processing', playable: false, progress: 0.4 }));
    expect(stageNotice(proc)).toMatchObject({ title: 'Processing 40 %', detail: 'The video can be played in a moment.' });
  });

  it('anything else is still loading', () => {
    expect(stageNotice(initialView)).toEqual({ tone: 'busy', title: 'Loading…', detail: '', overPoster: false });
    expect(stageNotice(viewOfVideo(video({ status: 'ready', playable: true })))).toMatchObject({ title: 'Loading…' });
  });
});

describe('aspectRatio', () => {
  it('the picture’s shape, 16 / 9 until known', () => {
    expect(aspectRatio(video({ width: 1080, height: 1920 }))).toBe('1080 / 1920');
    expect(aspectRatio(video({ width: null, height: null }))).toBe('16 / 9');
    expect(aspectRatio(null)).toBe('16 / 9');
    expect(isPortrait(video({ width: 1080, height: 1920 }))).toBe(true);
    expect(isPortrait(video({ width: 1920, height: 1080 }))).toBe(false);
    expect(isPortrait(undefined)).toBe(false);
  });
});

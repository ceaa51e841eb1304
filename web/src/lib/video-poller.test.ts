import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError, type Video, type VideoAnswer } from './api';
import { listPollDelay } from './share/share-state';
import { video } from './test-utils';
import { VideoPoller } from './video-poller.svelte';

function client(answers: Array<VideoAnswer | Error>) {
  const calls: string[] = [];
  const tokens: Array<string | null | undefined> = [];
  return {
    calls,
    tokens,
    video: vi.fn(async (id: string, _signal?: AbortSignal, token?: string | null) => {
      calls.push(id);
      tokens.push(token);
      const next = answers.length > 1 ? answers.shift()! : answers[0];
      if (next instanceof Error) throw next;
      return next;
    }),
  };
}

const uploading = (received: number, over: Partial<Video> = {}) => video({ status: 'uploading', receivedBytes: received, sizeBytes: 1000, ...over });

describe('VideoPoller (share page)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks every second while uploading, 300 ms while the first segment is made, 2 s while processing, then stops', async () => {
    const c = client([
      uploading(100),
      uploading(430, { playable: true, playableSeconds: 4 }),
      video({ status: 'processing', playable: false }),
      video({ status: 'processing', playable: true, progress: 0.3 }),
      video({ status: 'ready', playable: true, progress: 1, storyboardUrl: '/streams/id1/storyboard.vtt' }),
    ]);
    const m = new VideoPoller('id1', { client: c });
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(m.view).toMatchObject({ kind: 'waiting', stage: 'uploading', label: 'Uploading 10 %' });
    await vi.advanceTimersByTimeAsync(999);
    expect(c.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.view).toMatchObject({ kind: 'playable', stage: 'uploading', label: 'Still uploading — 43 % received' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(m.view).toMatchObject({ kind: 'waiting', stage: 'processing' });
    await vi.advanceTimersByTimeAsync(300);
    expect(m.view.kind).toBe('playable');
    await vi.advanceTimersByTimeAsync(2000);
    expect(m.view.kind).toBe('ready');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(c.calls).toHaveLength(5);
  });

  it('after ready, asks again every 2 s until the storyboard is listed', async () => {
    const c = client([
      video({ status: 'ready', playable: true, progress: 1, storyboardUrl: null }),
      video({ status: 'ready', playable: true, progress: 1, storyboardUrl: null }),
      video({ status: 'ready', playable: true, progress: 1, storyboardUrl: '/streams/id1/storyboard.vtt' }),
    ]);
    const m = new VideoPoller('id1', { client: c });
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(4000);
    expect(c.calls).toHaveLength(3);
    expect(m.view).toMatchObject({ kind: 'ready', video: { storyboardUrl: '/streams/id1/storyboard.vtt' } });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(c.calls).toHaveLength(3);
  });

  it('a 404 is final', async () => {
    const c = client([new ApiError(404, 'not_found', 'Not found.')]);
    const m = new VideoPoller('gone', { client: c });
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(m.view).toEqual({ kind: 'gone', message: 'This video does not exist or was deleted.' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(c.calls).toHaveLength(1);
  });

  it('retries when the server cannot be reached', async () => {
    const c = client([new NetworkError('offline'), video({ status: 'ready', playable: true })]);
    const m = new VideoPoller('x', { client: c });
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(m.view.kind).toBe('unreachable');
    await vi.advanceTimersByTimeAsync(3000);
    expect(m.view.kind).toBe('ready');
  });

  it('refresh() asks at once, even after it had stopped', async () => {
    const c = client([uploading(900), video({ status: 'ready', playable: true })]);
    const m = new VideoPoller('x', { client: c });
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    m.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.calls).toHaveLength(2);
    expect(m.view.kind).toBe('ready');
    m.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.calls).toHaveLength(3);
  });

  it('stop() ends polling and ignores a late answer', async () => {
    const c = client([video({ playable: false })]);
    const m = new VideoPoller('x', { client: c });
    m.start();
    m.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(m.view.kind).toBe('loading');
  });
});

describe('VideoPoller: passwords, owners, new links', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a protected video not unlocked here is "locked" and waits; refresh() after the unlock shows it', async () => {
    const c = client([{ id: 'p', passwordRequired: true }, video({ status: 'ready', playable: true })]);
    const m = new VideoPoller('p', { client: c });
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(m.view).toEqual({ kind: 'locked' });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(c.calls).toHaveLength(1);
    m.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(m.view.kind).toBe('ready');
  });

  it("asks with the owner's manage token, and as any viewer once the token is refused", async () => {
    const c = client([new ApiError(403, 'forbidden', 'Forbidden.'), video({ status: 'uploading', receivedBytes: 1, sizeBytes: 10 })]);
    const m = new VideoPoller('x', { client: c, manageToken: () => 'tok' });
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.tokens).toEqual(['tok', null]);
    expect(m.view.kind).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.tokens).toEqual(['tok', null, null]);
  });

  it('retarget() follows the video under its new id at once, keeping the view meanwhile', async () => {
    const c = client([video({ status: 'ready', playable: true })]);
    const m = new VideoPoller('old', { client: c, manageToken: () => 'tok' });
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(m.view.kind).toBe('ready');
    m.retarget('new');
    expect(m.id).toBe('new');
    expect(m.view.kind).toBe('ready');
    await vi.advanceTimersByTimeAsync(0);
    expect(c.calls).toEqual(['old', 'new']);
    m.retarget('new');
    await vi.advanceTimersByTimeAsync(0);
    expect(c.calls).toHaveLength(2);
  });
});

describe('VideoPoller (a row of My videos)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks every 3 s while uploading or processing, and stops once ready', async () => {
    const c = client([uploading(100), video({ status: 'processing', playable: true }), video({ status: 'ready', playable: true })]);
    const m = new VideoPoller('row', { client: c, delay: listPollDelay });
    m.start();
    await vi.advanceTimersByTimeAsync(2999);
    expect(c.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(3000);
    expect(m.view.kind).toBe('ready');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(c.calls).toHaveLength(3);
  });
});

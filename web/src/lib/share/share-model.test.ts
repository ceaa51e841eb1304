import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError, type Video } from '../api';
import { video } from '../test-utils';
import { ShareModel } from './share-model.svelte';

function client(answers: Array<Video | Error>) {
  const calls: string[] = [];
  return {
    calls,
    video: vi.fn(async (id: string) => {
      calls.push(id);
      const next = answers.length > 1 ? answers.shift()! : answers[0];
      if (next instanceof Error) throw next;
      return next;
    }),
  };
}

describe('ShareModel', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('polls every 300 ms until playable, every 2 s until ready, then stops', async () => {
    const c = client([
      video({ playable: false }),
      video({ playable: false }),
      video({ playable: true, progress: 0.3 }),
      video({ status: 'ready', playable: true, progress: 1 }),
    ]);
    const m = new ShareModel('id1', c);
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(m.view.kind).toBe('preparing');
    expect(c.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(300);
    expect(c.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(300);
    expect(m.view.kind).toBe('playable');
    await vi.advanceTimersByTimeAsync(1999);
    expect(c.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.view.kind).toBe('ready');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(c.calls).toHaveLength(4);
  });

  it('a 404 is final', async () => {
    const c = client([new ApiError(404, 'not_found', 'Not found.')]);
    const m = new ShareModel('gone', c);
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(m.view).toEqual({ kind: 'gone', message: 'This video does not exist or was deleted.' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(c.calls).toHaveLength(1);
  });

  it('retries when the server cannot be reached', async () => {
    const c = client([new NetworkError('offline'), video({ status: 'ready', playable: true })]);
    const m = new ShareModel('x', c);
    m.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(m.view.kind).toBe('unreachable');
    await vi.advanceTimersByTimeAsync(3000);
    expect(m.view.kind).toBe('ready');
  });

  it('stop() ends polling and ignores a late answer', async () => {
    const c = client([video({ playable: false })]);
    const m = new ShareModel('x', c);
    m.start();
    m.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(m.view.kind).toBe('loading');
  });
});

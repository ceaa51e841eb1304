import { describe, expect, it, vi } from 'vitest';
import { MemoryStorage } from '../test-utils';
import { RESUME_KEY, RESUME_MAX_ENTRIES, resumePosition, ResumeStore, trackResume } from './resume';

describe('where to resume', () => {
  it('restores a position away from both ends', () => {
    expect(resumePosition(42, { duration: 100 })).toBe(42);
    expect(resumePosition(5, { duration: 100 })).toBe(5);
    expect(resumePosition(95, { duration: 100 })).toBe(95);
  });
  it('not in the first 5 s, nor the last 5 s', () => {
    expect(resumePosition(4.9, { duration: 100 })).toBeNull();
    expect(resumePosition(95.1, { duration: 100 })).toBeNull();
    expect(resumePosition(null, { duration: 100 })).toBeNull();
    expect(resumePosition(Number.NaN, { duration: 100 })).toBeNull();
  });
  it('not past what can be played yet (the upload still runs)', () => {
    expect(resumePosition(42, { duration: 100, playable: 30 })).toBeNull();
    expect(resumePosition(20, { duration: 100, playable: 30 })).toBe(20);
  });
  it('with the length unknown, anywhere after the first 5 s', () => {
    expect(resumePosition(42, {})).toBe(42);
    expect(resumePosition(42, { duration: null, playable: 0 })).toBe(42);
  });
});

describe('ResumeStore', () => {
  it('keeps a position per video, and forgets it', () => {
    const storage = new MemoryStorage();
    const store = new ResumeStore(storage);
    store.save('a', 42.345, 100);
    store.save('b', 10, 100);
    expect(store.get('a')).toBe(42.3);
    expect(new ResumeStore(storage).get('b')).toBe(10);
    store.clear('a');
    expect(store.get('a')).toBeNull();
    store.clear('b');
    expect(storage.getItem(RESUME_KEY)).toBeNull();
  });
  it('forgets instead of saving a position near either end', () => {
    const store = new ResumeStore(new MemoryStorage());
    store.save('a', 42, 100);
    store.save('a', 2, 100);
    expect(store.get('a')).toBeNull();
    store.save('a', 42, 100);
    store.save('a', 97, 100);
    expect(store.get('a')).toBeNull();
  });
  it('remembers only the most recently watched videos', () => {
    let now = 0;
    const store = new ResumeStore(new MemoryStorage(), () => ++now);
    for (let i = 0; i < RESUME_MAX_ENTRIES + 5; i++) store.save(`v${i}`, 30, 100);
    expect(store.get('v0')).toBeNull();
    expect(store.get('v4')).toBeNull();
    expect(store.get('v5')).toBe(30);
    expect(store.get(`v${RESUME_MAX_ENTRIES + 4}`)).toBe(30);
  });
  it('copes with nonsense, full or missing storage', () => {
    const storage = new MemoryStorage();
    storage.setItem(RESUME_KEY, '{not json');
    expect(new ResumeStore(storage).get('a')).toBeNull();
    storage.setItem(RESUME_KEY, JSON.stringify({ a: { t: 'x' }, b: { t: 12 } }));
    expect(new ResumeStore(storage).get('a')).toBeNull();
    expect(new ResumeStore(storage).get('b')).toBe(12);
    storage.failWrites = true;
    expect(() => new ResumeStore(storage).save('c', 30, 100)).not.toThrow();
    const none = new ResumeStore(null);
    none.save('a', 30, 100);
    expect(none.get('a')).toBeNull();
  });
});

class FakeMedia extends EventTarget {
  currentTime = 0;
  duration = Number.NaN;
  fire(type: string) {
    this.dispatchEvent(new Event(type));
  }
}

describe('trackResume', () => {
  function setup(duration: number | null = 100) {
    const media = new FakeMedia();
    const page = new EventTarget();
    const store = { save: vi.fn(), clear: vi.fn() };
    let now = 1000;
    const stop = trackResume(media, { id: 'v', store, page, duration: () => duration, now: () => now, everyMs: 5000 });
    return { media, page, store, stop, tick: (ms: number) => (now += ms) };
  }

  it('saves nothing before the video has played (a page load must not overwrite what was saved)', () => {
    const { media, page, store } = setup();
    media.currentTime = 0;
    media.fire('timeupdate');
    media.fire('pause');
    page.dispatchEvent(new Event('pagehide'));
    expect(store.save).not.toHaveBeenCalled();
    expect(store.clear).not.toHaveBeenCalled();
  });

  it('saves every few seconds while it plays, on pause and on pagehide', () => {
    const { media, page, store, tick } = setup();
    media.fire('playing');
    media.currentTime = 12;
    tick(1000);
    media.fire('timeupdate');
    expect(store.save).not.toHaveBeenCalled();
    tick(4000);
    media.fire('timeupdate');
    expect(store.save).toHaveBeenLastCalledWith('v', 12, 100);
    media.currentTime = 14;
    media.fire('pause');
    expect(store.save).toHaveBeenLastCalledWith('v', 14, 100);
    media.currentTime = 15;
    page.dispatchEvent(new Event('pagehide'));
    expect(store.save).toHaveBeenLastCalledWith('v', 15, 100);
    expect(store.save).toHaveBeenCalledTimes(3);
  });

  it('forgets the position when the video ends, and saves no more after', () => {
    const { media, page, store } = setup();
    media.fire('playing');
    media.fire('ended');
    expect(store.clear).toHaveBeenCalledWith('v');
    page.dispatchEvent(new Event('pagehide'));
    expect(store.save).not.toHaveBeenCalled();
  });

  it("uses the element's duration when the length was not known", () => {
    const { media, store } = setup(null);
    media.duration = 60;
    media.fire('playing');
    media.currentTime = 30;
    media.fire('pause');
    expect(store.save).toHaveBeenLastCalledWith('v', 30, 60);
  });

  it('saves once more when uninstalled (leaving the page inside the app), then listens no more', () => {
    const { media, store, stop } = setup();
    media.fire('playing');
    media.currentTime = 20;
    stop();
    expect(store.save).toHaveBeenLastCalledWith('v', 20, 100);
    media.fire('pause');
    expect(store.save).toHaveBeenCalledTimes(1);
  });
});

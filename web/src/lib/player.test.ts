import { describe, expect, it, vi } from 'vitest';
import { atBufferEnd, attachStream, hlsConfig, mediaAttachment, shouldUseNative, watchStarvation, type HlsLike, type HlsModule, type MediaLike } from './player';

function ranges(...list: Array<[number, number]>): Pick<TimeRanges, 'length' | 'start' | 'end'> {
  return { length: list.length, start: (i) => list[i][0], end: (i) => list[i][1] };
}

/** A <video> for tests: events, a playhead and buffered ranges. */
class FakeMedia extends EventTarget implements MediaLike {
  currentTime = 0;
  buffered = ranges();
  src = '';
  native = '';
  canPlayType() {
    return this.native;
  }
  removeAttribute(name: string) {
    if (name === 'src') this.src = '';
  }
  load() {}
}

/** What the tests fire at a handler hls.js was given. */
type Handler = (e: string, d: object) => void;

function fakeHls(supported = true) {
  const instances: Array<HlsLike & { config: unknown; attached: unknown; source: string; handlers: Map<string, Handler> }> = [];
  class Hls {
    static isSupported = () => supported;
    static Events = { ERROR: 'hlsError', MANIFEST_PARSED: 'hlsManifestParsed', LEVELS_UPDATED: 'hlsLevelsUpdated', LEVEL_SWITCHED: 'hlsLevelSwitched' };
    static ErrorTypes = { MEDIA_ERROR: 'mediaError', NETWORK_ERROR: 'networkError' };
    config: unknown;
    attached: unknown = null;
    source = '';
    levels: Array<{ width: number; height: number; bitrate: number; name?: string }> = [];
    nextLevel = -1;
    handlers = new Map<string, Handler>();
    recoverMediaError = vi.fn();
    startLoad = vi.fn();
    destroy = vi.fn();
    constructor(config: unknown) {
      this.config = config;
      instances.push(this);
    }
    on(event: string, handler: (e: string, d: never) => void) {
      this.handlers.set(event, handler as unknown as Handler);
    }
    loadSource(src: string) {
      this.source = src;
    }
    attachMedia(data: unknown) {
      this.attached = data;
    }
  }
  const module = { default: Hls } as unknown as HlsModule;
  return { load: async () => module, instances };
}

describe('hls.js settings', () => {
  it('plays from 0:00, never chases the live edge, and asks for the next segment at once (blocking reload)', () => {
    const c = hlsConfig('/assets/hls.worker.js');
    expect(c.startPosition).toBe(0);
    expect(c.lowLatencyMode).toBe(true);
    expect(c.liveMaxLatencyDurationCount).toBe(Infinity);
    expect(c.maxLiveSyncPlaybackRate).toBe(1);
    expect(c.liveDurationInfinity).toBe(false);
    expect(c.workerPath).toBe('/assets/hls.worker.js');
    // A held playlist request (the uploader is slow) must not time out in hls.js's default 10 s.
    expect(c.playlistLoadPolicy?.default.maxTimeToFirstByteMs).toBeGreaterThanOrEqual(30_000);
  });

  it('attaches with the real duration when it is known', () => {
    const media = {} as HTMLMediaElement;
    expect(mediaAttachment(media, 61.2)).toEqual({ media, overrides: { duration: 61.2 } });
    expect(mediaAttachment(media, null)).toBe(media);
    expect(mediaAttachment(media, undefined)).toBe(media);
    expect(mediaAttachment(media, 0)).toBe(media);
    expect(mediaAttachment(media, Number.NaN)).toBe(media);
  });
});

describe('attachStream', () => {
  it('hls.js: loads the stream and attaches the element with the duration override', async () => {
    const hls = fakeHls();
    const media = new FakeMedia();
    const handle = await attachStream(media as unknown as HTMLVideoElement, '/streams/x/master.m3u8', { durationSeconds: 95 }, hls.load, false);
    const [inst] = hls.instances;
    expect(inst.source).toBe('/streams/x/master.m3u8');
    expect(inst.attached).toEqual({ media, overrides: { duration: 95 } });
    expect(inst.config).toMatchObject({ lowLatencyMode: true, startPosition: 0 });
    handle.destroy();
    expect(inst.destroy).toHaveBeenCalled();
  });

  it('hls.js: attaches the bare element while the duration is unknown', async () => {
    const hls = fakeHls();
    const media = new FakeMedia();
    await attachStream(media as unknown as HTMLVideoElement, '/s.m3u8', { durationSeconds: null }, hls.load, false);
    expect(hls.instances[0].attached).toBe(media);
  });

  it('hls.js: a network error is retried, a media error recovered, anything else reported', async () => {
    vi.useFakeTimers();
    try {
      const hls = fakeHls();
      const onFatalError = vi.fn();
      await attachStream(new FakeMedia() as unknown as HTMLVideoElement, '/s.m3u8', { onFatalError }, hls.load, false);
      const inst = hls.instances[0];
      const fire = inst.handlers.get('hlsError')!;
      fire('hlsError', { fatal: true, type: 'networkError' });
      await vi.advanceTimersByTimeAsync(2000);
      expect(inst.startLoad).toHaveBeenCalledTimes(1);
      fire('hlsError', { fatal: true, type: 'mediaError' });
      expect(inst.recoverMediaError).toHaveBeenCalledTimes(1);
      fire('hlsError', { fatal: false, type: 'otherError' });
      expect(onFatalError).not.toHaveBeenCalled();
      fire('hlsError', { fatal: true, type: 'otherError' });
      expect(onFatalError).toHaveBeenCalledWith('Playback failed. Reload the page to try again.');
    } finally {
      vi.useRealTimers();
    }
  });

  it('hls.js: starts where asked (a viewer coming back), else at 0:00', async () => {
    const hls = fakeHls();
    await attachStream(new FakeMedia() as unknown as HTMLVideoElement, '/s.m3u8', { startPosition: 42.5 }, hls.load, false);
    await attachStream(new FakeMedia() as unknown as HTMLVideoElement, '/s.m3u8', {}, hls.load, false);
    expect(hls.instances[0].config).toMatchObject({ startPosition: 42.5 });
    expect(hls.instances[1].config).toMatchObject({ startPosition: 0 });
    expect(hlsConfig('/w.js', Number.NaN).startPosition).toBe(0);
    expect(hlsConfig('/w.js', -3).startPosition).toBe(0);
  });

  it('hls.js: passes on its levels and the one playing, and plays a chosen one from the next segment', async () => {
    const hls = fakeHls();
    const onLevels = vi.fn();
    const onLevelSwitched = vi.fn();
    const handle = await attachStream(new FakeMedia() as unknown as HTMLVideoElement, '/s.m3u8', { onLevels, onLevelSwitched }, hls.load, false);
    expect(handle.hlsJs).toBe(true);
    const inst = hls.instances[0] as unknown as { levels: object[]; nextLevel: number; handlers: Map<string, Handler> };
    inst.levels = [
      { width: 640, height: 360, bitrate: 800_000, name: 'x' },
      { width: 1280, height: 720, bitrate: 2_500_000 },
    ];
    inst.handlers.get('hlsManifestParsed')!('hlsManifestParsed', { levels: inst.levels });
    expect(onLevels).toHaveBeenCalledWith([
      { width: 640, height: 360, bitrate: 800_000 },
      { width: 1280, height: 720, bitrate: 2_500_000 },
    ]);
    inst.levels = inst.levels.slice(1);
    inst.handlers.get('hlsLevelsUpdated')!('hlsLevelsUpdated', { levels: inst.levels });
    expect(onLevels).toHaveBeenLastCalledWith([{ width: 1280, height: 720, bitrate: 2_500_000 }]);
    inst.handlers.get('hlsLevelSwitched')!('hlsLevelSwitched', { level: 0 });
    expect(onLevelSwitched).toHaveBeenCalledWith(0);
    handle.setLevel(0);
    expect(inst.nextLevel).toBe(0);
    handle.setLevel(7); // no such level: automatic
    expect(inst.nextLevel).toBe(-1);
  });

  it("Apple's engine plays the stream itself (no hls.js, no levels to choose)", async () => {
    const hls = fakeHls();
    const media = new FakeMedia();
    media.native = 'maybe';
    const handle = await attachStream(media as unknown as HTMLVideoElement, '/s.m3u8', { durationSeconds: 10 }, hls.load, true);
    expect(media.src).toBe('/s.m3u8');
    expect(hls.instances).toHaveLength(0);
    expect(handle.hlsJs).toBe(false);
    handle.setLevel(1); // nothing to do
  });

  it("Apple's engine starts where asked once it knows the stream", async () => {
    const media = new FakeMedia();
    media.native = 'maybe';
    await attachStream(media as unknown as HTMLVideoElement, '/s.m3u8', { startPosition: 30 }, fakeHls().load, true);
    media.dispatchEvent(new Event('loadedmetadata'));
    expect(media.currentTime).toBe(30);
  });

  it('says so when nothing can play HLS', async () => {
    const onFatalError = vi.fn();
    await attachStream(new FakeMedia() as unknown as HTMLVideoElement, '/s.m3u8', { onFatalError }, fakeHls(false).load, false);
    expect(onFatalError).toHaveBeenCalledWith(expect.stringContaining('cannot play'));
  });

  it('chooses native playback only where it is the better choice', () => {
    expect(shouldUseNative(true, true, true)).toBe(true);
    expect(shouldUseNative(true, true, false)).toBe(false);
    expect(shouldUseNative(true, false, false)).toBe(true);
    expect(shouldUseNative(false, false, true)).toBe(false);
  });
});

describe('starvation (waiting for the uploader)', () => {
  it('is at the end of the buffer, or where nothing is buffered', () => {
    expect(atBufferEnd({ currentTime: 9.8, buffered: ranges([0, 10]) })).toBe(true);
    expect(atBufferEnd({ currentTime: 5, buffered: ranges([0, 10]) })).toBe(false);
    expect(atBufferEnd({ currentTime: 30, buffered: ranges([0, 10]) })).toBe(true);
    expect(atBufferEnd({ currentTime: 0, buffered: ranges() })).toBe(true);
    expect(atBufferEnd({ currentTime: 20.2, buffered: ranges([0, 10], [20, 40]) })).toBe(false);
  });

  it('turns on when playback waits at the end of the buffer, off when it plays again', () => {
    const media = new FakeMedia();
    const onChange = vi.fn();
    const stop = watchStarvation(media, onChange);
    media.currentTime = 5;
    media.buffered = ranges([0, 10]);
    media.dispatchEvent(new Event('waiting')); // a decoder hiccup mid-buffer: not the uploader
    expect(onChange).not.toHaveBeenCalled();
    media.currentTime = 9.9;
    media.dispatchEvent(new Event('waiting'));
    expect(onChange).toHaveBeenLastCalledWith(true);
    media.dispatchEvent(new Event('waiting'));
    expect(onChange).toHaveBeenCalledTimes(1);
    media.dispatchEvent(new Event('playing'));
    expect(onChange).toHaveBeenLastCalledWith(false);
    stop();
    media.dispatchEvent(new Event('waiting'));
    expect(onChange).toHaveBeenCalledTimes(2);
  });
});

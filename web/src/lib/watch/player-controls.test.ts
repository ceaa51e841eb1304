import { describe, expect, it, vi } from 'vitest';
import { MemoryStorage } from '../test-utils';
import { CaptionControls } from './caption-controls.svelte';
import { CaptionChoiceStore } from './captions';
import { PlayerControls, type ControlledDocument } from './player-controls.svelte';
import { AUTO } from './quality';

function ranges(...list: Array<[number, number]>): Pick<TimeRanges, 'length' | 'start' | 'end'> {
  return { length: list.length, start: (i) => list[i][0], end: (i) => list[i][1] };
}

class FakeVideo extends EventTarget {
  currentTime = 0;
  duration = 60;
  paused = true;
  ended = false;
  muted = false;
  volume = 1;
  playbackRate = 1;
  defaultPlaybackRate = 1;
  seekable = ranges([0, 60]);
  disablePictureInPicture = false;
  play = vi.fn(async () => {
    this.paused = false;
    this.dispatchEvent(new Event('play'));
  });
  pause = vi.fn(() => {
    this.paused = true;
    this.dispatchEvent(new Event('pause'));
  });
  requestPictureInPicture = vi.fn(async () => {
    this.dispatchEvent(new Event('enterpictureinpicture'));
  });
}

class FakeDocument extends EventTarget implements ControlledDocument {
  fullscreenEnabled = true;
  fullscreenElement: Element | null = null;
  pictureInPictureEnabled = true;
  pictureInPictureElement: Element | null = null;
  exitFullscreen = vi.fn(async () => {
    this.fullscreenElement = null;
    this.dispatchEvent(new Event('fullscreenchange'));
  });
  exitPictureInPicture = vi.fn(async () => {});
}

function setup() {
  const video = new FakeVideo();
  const doc = new FakeDocument();
  const container = {
    requestFullscreen: vi.fn(async () => {
      doc.fullscreenElement = container as unknown as Element;
      doc.dispatchEvent(new Event('fullscreenchange'));
    }),
  };
  const controls = new PlayerControls();
  const detach = controls.attach(video, container, doc);
  return { video, doc, container, controls, detach };
}

const press = (key: string, target: EventTarget | null = null) => ({ key, target, preventDefault: vi.fn(), stopPropagation: vi.fn() });

describe('PlayerControls', () => {
  it('plays and pauses, and knows when playback has started', async () => {
    const { video, controls } = setup();
    expect(controls.paused).toBe(true);
    expect(controls.started).toBe(false);
    controls.togglePlay();
    await Promise.resolve();
    expect(video.play).toHaveBeenCalled();
    expect(controls.paused).toBe(false);
    expect(controls.started).toBe(true);
    controls.togglePlay();
    expect(video.pause).toHaveBeenCalled();
    expect(controls.paused).toBe(true);
    expect(controls.started).toBe(true);
  });

  it('seeks within what can be reached', () => {
    const { video, controls } = setup();
    video.currentTime = 10;
    controls.seekBy(5);
    expect(video.currentTime).toBe(15);
    controls.seekBy(-20);
    expect(video.currentTime).toBe(0);
    video.currentTime = 58;
    controls.seekBy(5);
    expect(video.currentTime).toBe(60);
    // While the upload runs, the end is what has arrived.
    video.duration = Infinity;
    video.seekable = ranges([0, 30]);
    video.currentTime = 28;
    controls.seekBy(5);
    expect(video.currentTime).toBe(30);
  });

  it('never seeks past what can be played while the upload runs (the timeline may be longer)', () => {
    const { video, controls } = setup();
    // hls.js is given the full duration: the element's timeline is 60 s, 12 s of it uploaded.
    controls.setPlayableLimit(12);
    video.currentTime = 10;
    controls.seekBy(5);
    expect(video.currentTime).toBe(12);
    controls.seekTo(40);
    expect(video.currentTime).toBe(12);
    controls.seekTo(3);
    expect(video.currentTime).toBe(3);
    controls.seekTo(-2);
    expect(video.currentTime).toBe(0);
    // Playing further than the limit last said: a step forward stays, never goes back.
    video.currentTime = 14;
    controls.seekBy(5);
    expect(video.currentTime).toBe(14);
    controls.seekBy(-5);
    expect(video.currentTime).toBe(9);
    // All of it, once processed.
    controls.setPlayableLimit(null);
    controls.seekTo(40);
    expect(video.currentTime).toBe(40);
    controls.seekTo(Number.NaN);
    expect(video.currentTime).toBe(40);
  });

  it('sets the volume: 0 mutes, more unmutes; unmuting at no volume brings some back', () => {
    const { video, controls } = setup();
    controls.setVolume(0.4);
    expect(video.volume).toBe(0.4);
    expect(video.muted).toBe(false);
    video.dispatchEvent(new Event('volumechange'));
    expect(controls.volume).toBe(0.4);
    controls.setVolume(0);
    expect(video.muted).toBe(true);
    controls.toggleMute();
    expect(video.muted).toBe(false);
    expect(video.volume).toBe(0.5);
    controls.setVolume(7);
    expect(video.volume).toBe(1);
  });

  it('c turns captions on and off, and is left alone for a video without any', () => {
    const captions = new CaptionControls(new CaptionChoiceStore(new MemoryStorage()));
    const controls = new PlayerControls(captions);
    controls.attach(new FakeVideo(), {}, new FakeDocument());
    const none = press('c');
    expect(controls.handleKey(none)).toBe(false);
    expect(none.preventDefault).not.toHaveBeenCalled();
    captions.setCaptions([{ lang: 'en', label: 'English', url: '/streams/a/captions/en.vtt' }]);
    expect(controls.handleKey(press('c'))).toBe(true);
    expect(captions.description).toBe('English');
    controls.handleKey(press('c'));
    expect(captions.description).toBe('Off');
  });

  it('mutes and follows the element', () => {
    const { video, controls } = setup();
    controls.toggleMute();
    expect(video.muted).toBe(true);
    video.dispatchEvent(new Event('volumechange'));
    expect(controls.muted).toBe(true);
    controls.toggleMute();
    expect(video.muted).toBe(false);
  });

  it('sets the speed (kept across a media reload), within 0.5–2×, and follows a change made elsewhere', () => {
    const { video, controls } = setup();
    controls.setRate(1.5);
    expect(video.playbackRate).toBe(1.5);
    expect(video.defaultPlaybackRate).toBe(1.5);
    expect(controls.rateText).toBe('1.5×');
    controls.setRate(4);
    expect(video.playbackRate).toBe(2);
    video.playbackRate = 0.75;
    video.dispatchEvent(new Event('ratechange'));
    expect(controls.rate).toBe(0.75);
    controls.run({ kind: 'speed', step: 1 });
    expect(video.playbackRate).toBe(1);
    expect(controls.speedOptions.map((o) => o.label)).toEqual(['0.5×', '0.75×', 'Normal', '1.25×', '1.5×', '1.75×', '2×']);
  });

  it('offers quality levels only from hls.js with several, and switches through the stream', () => {
    const { controls } = setup();
    const stream = { hlsJs: true, setLevel: vi.fn() };
    controls.setStream(stream);
    controls.setLevels([{ width: 1280, height: 720, bitrate: 2e6 }]);
    expect(controls.showQuality).toBe(false);
    controls.setLevels([
      { width: 640, height: 360, bitrate: 8e5 },
      { width: 1280, height: 720, bitrate: 2e6 },
    ]);
    expect(controls.showQuality).toBe(true);
    expect(controls.qualityOptions.map((o) => o.label)).toEqual(['Auto', '720p', '360p']);
    controls.levelSwitched(1);
    expect(controls.qualityDescription).toBe('Auto (720p)');
    expect(controls.qualityText).toBe('Auto');
    controls.selectQuality(0);
    expect(stream.setLevel).toHaveBeenLastCalledWith(0);
    expect(controls.quality).toBe(0);
    expect(controls.qualityText).toBe('360p');
    controls.selectQuality(AUTO);
    expect(stream.setLevel).toHaveBeenLastCalledWith(AUTO);
    // A level hls.js dropped cannot stay chosen.
    controls.selectQuality(1);
    controls.setLevels([{ width: 640, height: 360, bitrate: 8e5 }]);
    expect(controls.quality).toBe(AUTO);
  });

  it('never offers quality with the browser’s own HLS', () => {
    const { controls } = setup();
    controls.setStream({ hlsJs: false, setLevel: vi.fn() });
    controls.setLevels([{ height: 720 }, { height: 360 }]);
    expect(controls.showQuality).toBe(false);
  });

  it('puts the whole player in full screen, and takes it out', async () => {
    const { container, doc, controls } = setup();
    expect(controls.canFullscreen).toBe(true);
    controls.toggleFullscreen();
    await Promise.resolve();
    expect(container.requestFullscreen).toHaveBeenCalled();
    expect(controls.fullscreen).toBe(true);
    controls.toggleFullscreen();
    await Promise.resolve();
    expect(doc.exitFullscreen).toHaveBeenCalled();
    expect(controls.fullscreen).toBe(false);
  });

  it('falls back to the video’s own full screen (iPhone)', () => {
    const video = Object.assign(new FakeVideo(), { webkitEnterFullscreen: vi.fn() });
    const doc = Object.assign(new FakeDocument(), { fullscreenEnabled: false });
    const controls = new PlayerControls();
    controls.attach(video, {}, doc);
    expect(controls.canFullscreen).toBe(true);
    controls.toggleFullscreen();
    expect(video.webkitEnterFullscreen).toHaveBeenCalled();
  });

  it('offers picture-in-picture only where the document allows it', async () => {
    const { video, doc, controls } = setup();
    expect(controls.canPip).toBe(true);
    controls.togglePip();
    await Promise.resolve();
    expect(video.requestPictureInPicture).toHaveBeenCalled();
    expect(controls.pip).toBe(true);
    doc.pictureInPictureElement = video as unknown as Element;
    controls.togglePip();
    expect(doc.exitPictureInPicture).toHaveBeenCalled();

    const off = new PlayerControls();
    off.attach(new FakeVideo(), {}, Object.assign(new FakeDocument(), { pictureInPictureEnabled: false }));
    expect(off.canPip).toBe(false);
  });

  it('acts on a shortcut and prevents its default (the browser’s own controls would act too)', async () => {
    const { video, controls } = setup();
    const k = press('k');
    expect(controls.handleKey(k)).toBe(true);
    expect(k.preventDefault).toHaveBeenCalled();
    await Promise.resolve();
    expect(video.play).toHaveBeenCalledTimes(1);
    video.currentTime = 20;
    controls.handleKey(press('ArrowLeft'));
    expect(video.currentTime).toBe(15);
    controls.handleKey(press('m'));
    expect(video.muted).toBe(true);
    const other = press('x');
    expect(controls.handleKey(other)).toBe(false);
    expect(other.preventDefault).not.toHaveBeenCalled();
  });

  it('keeps a shortcut pressed on the <video> from its own controls, and only there', () => {
    const { video, controls } = setup();
    const onVideo = press('ArrowRight', video);
    controls.handleKey(onVideo);
    expect(onVideo.stopPropagation).toHaveBeenCalled();
    const up = press('ArrowRight', video);
    controls.handleKeyUp(up);
    expect(up.stopPropagation).toHaveBeenCalled();
    const elsewhere = press('ArrowRight', new EventTarget());
    controls.handleKey(elsewhere);
    expect(elsewhere.preventDefault).toHaveBeenCalled();
    expect(elsewhere.stopPropagation).not.toHaveBeenCalled();
  });

  it('prevents the keyup of a shortcut’s key too (Chromium’s controls toggle on the keyup of space), and only that', () => {
    const { controls } = setup();
    const other = press('x');
    controls.handleKeyUp(other);
    expect(other.preventDefault).not.toHaveBeenCalled();
    controls.handleKey(press(' '));
    const up = press(' ');
    controls.handleKeyUp(up);
    expect(up.preventDefault).toHaveBeenCalled();
    const again = press(' ');
    controls.handleKeyUp(again);
    expect(again.preventDefault).not.toHaveBeenCalled();
  });

  it('stops following the element once detached', () => {
    const { video, controls, detach } = setup();
    detach();
    video.muted = true;
    video.dispatchEvent(new Event('volumechange'));
    expect(controls.muted).toBe(false);
    expect(controls.handleKey(press('k'))).toBe(false);
  });
});

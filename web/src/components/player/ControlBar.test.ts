// The control bar as the server renders it (svelte/server): what it offers and what it says, for given
// states. (Pointer and keyboard behaviour are the browser tests', e2e/player.test.mjs.)
import { render } from 'svelte/server';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../lib/test-utils';
import { CaptionControls } from '../../lib/watch/caption-controls.svelte';
import { CaptionChoiceStore } from '../../lib/watch/captions';
import { PlaybackTime } from '../../lib/watch/playback-time.svelte';
import { PlayerControls } from '../../lib/watch/player-controls.svelte';
import ControlBar from './ControlBar.svelte';
import SeekBar from './SeekBar.svelte';

function ranges(...list: Array<[number, number]>): Pick<TimeRanges, 'length' | 'start' | 'end'> {
  return { length: list.length, start: (i) => list[i][0], end: (i) => list[i][1] };
}

/** A clock at `t` with `buffered`, as a <video> would leave it. */
function clock(t: number, buffered: Array<[number, number]> = []) {
  const time = new PlaybackTime();
  const media = Object.assign(new EventTarget(), { currentTime: t, duration: 60, paused: true, buffered: ranges(...buffered), seekable: ranges([0, 60]) });
  time.attach(media, { request: () => 0, cancel() {} });
  return time;
}

function bar(over: { controls?: PlayerControls; time?: PlaybackTime; length?: number; reachable?: number } = {}) {
  const props = {
    controls: over.controls ?? new PlayerControls(new CaptionControls(new CaptionChoiceStore(new MemoryStorage()))),
    time: over.time ?? clock(0),
    length: over.length ?? 60,
    reachable: over.reachable ?? 60,
    shown: true,
    onmenuopen() {},
    onscrub() {},
  };
  return render(ControlBar, { props }).body;
}

const attr = (html: string, selector: RegExp) => selector.exec(html)?.[1] ?? null;

describe('ControlBar', () => {
  it('offers play, the seek bar, mute, the volume, the time and the settings, each with a name', () => {
    const html = bar({ time: clock(83) });
    expect(html).toContain('aria-label="Play"');
    expect(html).toContain('aria-label="Mute"');
    expect(html).toContain('aria-label="Volume"');
    expect(html).toContain('aria-label="Playback speed: 1×"');
    expect(html).toMatch(/role="group" aria-label="Player settings"/);
    // The element ran past the length it was told: the bar and the time stop at the end.
    expect(html).toMatch(/role="slider" tabindex="0" aria-label="Seek" aria-valuemin="0" aria-valuemax="60" aria-valuenow="60" aria-valuetext="1:00 of 1:00"/);
    expect(html).toContain('1:00 / 1:00');
  });

  it('says where playback is: the seek bar’s value text and the time', () => {
    const html = bar({ time: clock(23.4), length: 60 });
    expect(attr(html, /aria-valuetext="([^"]*)"/)).toBe('0:23 of 1:00');
    expect(html).toContain('0:23 / 1:00');
    expect(html).toMatch(/class="played[^"]*" style="width: 39%;"/);
  });

  it('shows what is buffered, and, while the upload runs, what cannot be reached yet', () => {
    const html = bar({ time: clock(5, [[0, 12]]), length: 60, reachable: 24 });
    expect(html).toMatch(/class="buffered[^"]*" style="left: 0%; width: 20%;"/);
    expect(html).toMatch(/class="unreachable[^"]*" style="left: 40%;"/);
    expect(bar({ length: 60, reachable: 60 })).not.toContain('unreachable');
  });

  it('offers captions only for a video that has some, and names the choice', () => {
    const captions = new CaptionControls(new CaptionChoiceStore(new MemoryStorage()));
    const controls = new PlayerControls(captions);
    expect(bar({ controls })).not.toContain('Captions');
    captions.setCaptions([
      { lang: 'en', label: 'English', url: '/streams/a/captions/en.vtt' },
      { lang: 'fr', label: 'Français', url: '/streams/a/captions/fr.vtt' },
    ]);
    let html = bar({ controls });
    expect(html).toMatch(/aria-label="Captions: Off" aria-keyshortcuts="c">CC</);
    captions.select(1);
    html = bar({ controls });
    expect(html).toMatch(/class="player-control on[^"]*"[^>]*aria-label="Captions: Français"/);
  });

  it('names the buttons by what they would do', () => {
    const controls = new PlayerControls(new CaptionControls(new CaptionChoiceStore(new MemoryStorage())));
    const media = Object.assign(new EventTarget(), {
      currentTime: 0,
      duration: 60,
      paused: false,
      ended: false,
      muted: true,
      volume: 1,
      playbackRate: 1.5,
      defaultPlaybackRate: 1.5,
      seekable: ranges([0, 60]),
      play: async () => {},
      pause() {},
    });
    controls.attach(media, {}, new EventTarget());
    const html = bar({ controls });
    expect(html).toContain('aria-label="Pause"');
    expect(html).toContain('aria-label="Unmute"');
    expect(html).toContain('aria-valuetext="0%"');
    expect(html).toContain('aria-label="Playback speed: 1.5×"');
  });
});

describe('SeekBar', () => {
  it('is disabled while the length is unknown', () => {
    const { body } = render(SeekBar, { props: { current: 0, length: 0, reachable: 0, buffered: [], onseek() {}, onseekby() {}, ontoggle() {} } });
    expect(body).toContain('aria-disabled="true"');
    expect(attr(body, /aria-valuetext="([^"]*)"/)).toBe('0:00');
  });
});

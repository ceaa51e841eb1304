import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../test-utils';
import { CaptionControls, type TextTrackListLike } from './caption-controls.svelte';
import { CAPTIONS_KEY, CAPTIONS_OFF, CaptionChoiceStore, captionFor, showOnly, trackFor, usableCaptions, type TextTrackLike } from './captions';

const PAGE = 'https://flick.example/v/abc';
const EN = { lang: 'en', label: 'English', url: 'https://flick.example/streams/abc/captions/en.vtt' };
const FR = { lang: 'fr', label: 'Français', url: 'https://flick.example/streams/abc/captions/fr.vtt' };
const PT_BR = { lang: 'pt-BR', label: 'Português (Brasil)', url: 'https://flick.example/streams/abc/captions/pt-BR.vtt' };

describe('CaptionChoiceStore', () => {
  it('has no choice at first, then remembers a language or off', () => {
    const storage = new MemoryStorage();
    const store = new CaptionChoiceStore(storage);
    expect(store.get()).toBeNull();
    store.set('pt-BR');
    expect(store.get()).toEqual({ lang: 'pt-br' });
    expect(new CaptionChoiceStore(storage).get()).toEqual({ lang: 'pt-br' });
    store.set(null);
    expect(store.get()).toEqual({ lang: null });
  });

  it('reads nonsense as no choice, and survives storage that fails', () => {
    const storage = new MemoryStorage();
    const store = new CaptionChoiceStore(storage);
    for (const junk of ['{', '"en"', '[]', '{"lang":5}', '{"lang":"<script>"}', '{"lang":""}', '{}', 'null'])
      storage.setItem(CAPTIONS_KEY, junk), expect(store.get(), junk).toBeNull();
    store.set('not a language!');
    expect(store.get()).toEqual({ lang: null });
    storage.failWrites = true;
    expect(() => store.set('en')).not.toThrow();
    storage.failAll = true;
    expect(store.get()).toBeNull();
    const none = new CaptionChoiceStore(null);
    expect(none.get()).toBeNull();
    expect(() => none.set('en')).not.toThrow();
  });
});

describe('usableCaptions', () => {
  it('keeps well-formed tracks of the page’s origin, one per language', () => {
    expect(
      usableCaptions(
        [
          { lang: 'en', label: 'English', url: '/streams/abc/captions/en.vtt' },
          { lang: 'EN', label: 'English again', url: '/streams/abc/captions/en2.vtt' },
          { lang: 'fr', label: '  ', url: '/streams/abc/captions/fr.vtt' },
          { lang: 'de', label: 'Deutsch', url: 'https://evil.example/de.vtt' },
          { lang: 'es', label: 'Español', url: 'javascript:alert(1)' },
          { lang: 'x y', label: 'Bad', url: '/bad.vtt' },
          { lang: 'it', label: 'Italiano' },
          null,
          'en',
        ],
        PAGE,
      ),
    ).toEqual([
      { lang: 'en', label: 'English', url: 'https://flick.example/streams/abc/captions/en.vtt' },
      { lang: 'fr', label: 'fr', url: 'https://flick.example/streams/abc/captions/fr.vtt' },
    ]);
    expect(usableCaptions(undefined, PAGE)).toEqual([]);
    expect(usableCaptions({ lang: 'en' }, PAGE)).toEqual([]);
  });
});

describe('captionFor', () => {
  const list = [EN, FR, PT_BR];
  it('finds the same tag, else the same language', () => {
    expect(captionFor(list, 'en')).toBe(0);
    expect(captionFor(list, 'EN')).toBe(0);
    expect(captionFor(list, 'en-GB')).toBe(0);
    expect(captionFor(list, 'pt-br')).toBe(2);
    expect(captionFor(list, 'pt')).toBe(2);
    expect(captionFor(list, 'de')).toBe(CAPTIONS_OFF);
    expect(captionFor(list, null)).toBe(CAPTIONS_OFF);
    expect(captionFor([], 'en')).toBe(CAPTIONS_OFF);
  });
});

function track(language: string, label = language, kind = 'subtitles', mode: TextTrackLike['mode'] = 'disabled'): TextTrackLike {
  return { kind, language, label, mode };
}

describe('trackFor and showOnly', () => {
  it('match a caption by language (and label among several), and show one', () => {
    const chapters = track('en', 'Chapters', 'chapters', 'hidden');
    const en1 = track('en', 'English SDH', 'captions');
    const en2 = track('en', 'English');
    const fr = track('fr', 'Français', 'subtitles', 'showing');
    const tracks = [chapters, en1, en2, fr];
    expect(trackFor(tracks, EN)).toBe(en2);
    expect(trackFor(tracks, { lang: 'EN', label: 'Other' })).toBe(en1);
    expect(trackFor(tracks, { lang: 'de', label: 'Deutsch' })).toBeNull();
    expect(showOnly(tracks, en2)).toBe(true);
    expect(tracks.map((t) => t.mode)).toEqual(['hidden', 'disabled', 'showing', 'disabled']);
    expect(showOnly(tracks, en2)).toBe(false);
    expect(showOnly(tracks, null)).toBe(true);
    expect(tracks.map((t) => t.mode)).toEqual(['hidden', 'disabled', 'disabled', 'disabled']);
  });
});

class FakeTracks extends EventTarget implements TextTrackListLike {
  [index: number]: TextTrackLike;
  length = 0;
  add(t: TextTrackLike) {
    this[this.length++] = t;
    this.dispatchEvent(new Event('addtrack'));
  }
  /** Something else (the browser's own menu) changes a mode. */
  userSets(t: TextTrackLike, mode: TextTrackLike['mode']) {
    t.mode = mode;
    this.dispatchEvent(new Event('change'));
  }
}

function setup(stored: string | null = null) {
  const storage = new MemoryStorage();
  if (stored !== null) storage.setItem(CAPTIONS_KEY, stored);
  const store = new CaptionChoiceStore(storage);
  const controls = new CaptionControls(store);
  const tracks = new FakeTracks();
  return { storage, store, controls, tracks };
}

describe('CaptionControls', () => {
  it('is offered only for a video with captions: Off, then each label', () => {
    const { controls } = setup();
    expect(controls.available).toBe(false);
    controls.setCaptions([EN, FR]);
    expect(controls.available).toBe(true);
    expect(controls.options).toEqual([
      { value: CAPTIONS_OFF, label: 'Off' },
      { value: 0, label: 'English' },
      { value: 1, label: 'Français' },
    ]);
    expect(controls.selected).toBe(CAPTIONS_OFF);
    expect(controls.description).toBe('Off');
  });

  it('shows the chosen track, disables the others, and remembers the choice', () => {
    const { controls, tracks, store } = setup();
    controls.setCaptions([EN, FR]);
    const en = track('en', 'English');
    const fr = track('fr', 'Français');
    controls.attach(tracks);
    tracks.add(en);
    tracks.add(fr);
    expect([en.mode, fr.mode]).toEqual(['disabled', 'disabled']);
    controls.select(1);
    expect([en.mode, fr.mode]).toEqual(['disabled', 'showing']);
    expect(controls.description).toBe('Français');
    expect(store.get()).toEqual({ lang: 'fr' });
    controls.select(CAPTIONS_OFF);
    expect([en.mode, fr.mode]).toEqual(['disabled', 'disabled']);
    expect(store.get()).toEqual({ lang: null });
  });

  it('applies the remembered language to the next video, once its track is there', () => {
    const { controls, tracks } = setup('{"lang":"fr"}');
    controls.setCaptions([EN, FR]);
    controls.attach(tracks);
    expect(controls.selected).toBe(1);
    const en = track('en', 'English');
    tracks.add(en);
    // No French track yet: a change event says nothing about the choice.
    tracks.dispatchEvent(new Event('change'));
    expect(controls.selected).toBe(1);
    const fr = track('fr', 'Français');
    tracks.add(fr);
    expect([en.mode, fr.mode]).toEqual(['disabled', 'showing']);
  });

  it('shows nothing for a video without the remembered language, and keeps the choice for later', () => {
    const { controls, tracks, store } = setup('{"lang":"de"}');
    controls.setCaptions([EN]);
    controls.attach(tracks);
    const en = track('en');
    tracks.add(en);
    expect(en.mode).toBe('disabled');
    expect(controls.selected).toBe(CAPTIONS_OFF);
    expect(store.get()).toEqual({ lang: 'de' });
  });

  it('keeps captions off when off was chosen (even if the browser would show one)', () => {
    const { controls, tracks } = setup('{"lang":null}');
    controls.setCaptions([EN]);
    controls.attach(tracks);
    const en = track('en', 'English', 'subtitles', 'showing');
    tracks.add(en);
    expect(en.mode).toBe('disabled');
  });

  it('without a choice, leaves the browser’s own (Safari follows the system setting) and follows it', () => {
    const { controls, tracks, store } = setup();
    controls.setCaptions([EN, FR]);
    const fr = track('fr', 'Français', 'subtitles', 'showing');
    controls.attach(tracks);
    tracks.add(track('en', 'English'));
    tracks.add(fr);
    expect(fr.mode).toBe('showing');
    expect(controls.selected).toBe(1);
    tracks.userSets(fr, 'disabled');
    expect(controls.selected).toBe(CAPTIONS_OFF);
    expect(store.get()).toBeNull();
  });

  it('toggles with c: on to the last language (or the first track), then off', () => {
    const { controls, tracks } = setup();
    controls.setCaptions([EN, FR]);
    controls.attach(tracks);
    const en = track('en', 'English');
    const fr = track('fr', 'Français');
    tracks.add(en);
    tracks.add(fr);
    controls.toggle();
    expect(en.mode).toBe('showing');
    controls.select(1);
    controls.toggle();
    expect(controls.selected).toBe(CAPTIONS_OFF);
    controls.toggle();
    expect(controls.selected).toBe(1);
    expect(fr.mode).toBe('showing');
  });

  it('matches a remembered language to a regional variant', () => {
    const { controls, tracks } = setup('{"lang":"pt"}');
    controls.setCaptions([EN, PT_BR]);
    controls.attach(tracks);
    const pt = track('pt-BR', 'Português (Brasil)');
    tracks.add(track('en', 'English'));
    tracks.add(pt);
    expect(pt.mode).toBe('showing');
    expect(controls.selected).toBe(1);
  });

  it('c does nothing without captions', () => {
    const { controls, store } = setup();
    controls.toggle();
    expect(store.get()).toBeNull();
  });
});

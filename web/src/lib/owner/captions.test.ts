import { describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError, type Caption } from '../api';
import {
  buildCaptionRequest,
  captionContentType,
  captionFormat,
  CaptionsEditor,
  COMMON_LANGS,
  emptyCaptionForm,
  fileProblem,
  isValidLang,
  languageLabel,
  MAX_CAPTION_BYTES,
  MAX_CAPTION_TRACKS,
  withTrack,
  type CaptionForm,
} from './captions.svelte';

function file(name: string, size = 120): File {
  return new File([new Uint8Array(size)], name);
}

const en: Caption = { lang: 'en', label: 'English', url: '/captions/v1/en.vtt' };
const fr: Caption = { lang: 'fr', label: 'French', url: '/captions/v1/fr.vtt' };

function form(over: Partial<CaptionForm> = {}): CaptionForm {
  return { ...emptyCaptionForm(), file: file('subs.srt'), lang: 'en', label: 'English', ...over };
}

describe('language tags', () => {
  it('takes BCP 47 tags and refuses the rest', () => {
    for (const tag of ['en', 'pt-BR', 'zh-Hans', 'es-419', 'gsw', 'sr-Latn-RS', 'EN-us', ' de ']) expect(isValidLang(tag), tag).toBe(true);
    for (const tag of ['', 'e', 'english', 'en_US', 'en-', '-en', 'pt-B', 'en-abcdefghi', 'en US', 'fr-ça', '12']) expect(isValidLang(tag), tag).toBe(false);
    expect(COMMON_LANGS.every(isValidLang)).toBe(true);
    expect(new Set(COMMON_LANGS).size).toBe(COMMON_LANGS.length);
  });

  it('names the language for the default label', () => {
    expect(languageLabel('en')).toBe('English');
    expect(languageLabel(' de ')).toBe('German');
    expect(languageLabel('pt-BR')).toBe('Brazilian Portuguese');
    expect(languageLabel('fr', 'fr')).toBe('Français');
    expect(languageLabel('not a tag')).toBe('');
    expect(languageLabel('')).toBe('');
  });
});

describe('caption files', () => {
  it('knows the format and the Content-Type by the extension', () => {
    expect(captionFormat('Subs.SRT')).toBe('srt');
    expect(captionFormat('a.b.vtt')).toBe('vtt');
    expect(captionFormat('subs.txt')).toBeNull();
    expect(captionContentType('x.vtt')).toBe('text/vtt');
    expect(captionContentType('x.srt')).toBe('application/x-subrip');
    expect(captionContentType('x')).toBe('application/octet-stream');
  });

  it('says what is wrong with a file before sending it', () => {
    expect(fileProblem(null)).toBe('Choose a caption file (.vtt or .srt).');
    expect(fileProblem(file('subs.ass'))).toBe('Choose a WebVTT (.vtt) or SubRip (.srt) file.');
    expect(fileProblem(file('subs.vtt', 0))).toBe('This file is empty.');
    expect(fileProblem(file('subs.vtt', MAX_CAPTION_BYTES))).toBe('');
    expect(fileProblem({ name: 'subs.vtt', size: MAX_CAPTION_BYTES + 40 * 1024 })).toBe('This file is 552 KB; a caption file may be at most 512 KB.');
  });
});

describe('buildCaptionRequest', () => {
  it('builds the request: trimmed language and label, the type from the file name', () => {
    const f = file('film.en.srt');
    expect(buildCaptionRequest(form({ file: f, lang: ' pt-BR ', label: ' Português ' }), [])).toEqual({
      request: { file: f, lang: 'pt-BR', label: 'Português', contentType: 'application/x-subrip' },
      errors: {},
    });
  });

  it('an empty label is the language’s name (or the tag itself when it has none)', () => {
    expect(buildCaptionRequest(form({ lang: 'de', label: '  ' }), []).request?.label).toBe('German');
    expect(buildCaptionRequest(form({ lang: 'qaa', label: '' }), []).request?.label).toBe('qaa');
  });

  it('says what is wrong, field by field', () => {
    expect(buildCaptionRequest(form({ file: null, lang: '', label: '' }), [])).toEqual({
      request: null,
      errors: { file: 'Choose a caption file (.vtt or .srt).', lang: 'Enter the language of the captions, e.g. en or pt-BR.' },
    });
    expect(buildCaptionRequest(form({ lang: 'English' }), []).errors).toEqual({ lang: 'Enter a language tag such as en, fr, pt-BR or zh-Hans.' });
    expect(buildCaptionRequest(form({ label: 'x'.repeat(101) }), []).errors).toEqual({ label: 'At most 100 characters.' });
  });

  it('refuses a 21st track, but replacing one of the 20 is fine', () => {
    const full = Array.from({ length: MAX_CAPTION_TRACKS }, (_, i) => ({ lang: `x${String.fromCharCode(97 + i)}`, label: `L${i}`, url: `/c/${i}.vtt` }));
    expect(buildCaptionRequest(form({ lang: 'en' }), full).errors.lang).toBe('A video may have at most 20 caption tracks. Remove one first.');
    expect(buildCaptionRequest(form({ lang: 'XB' }), full).request?.lang).toBe('XB');
  });

  it('withTrack appends, or replaces the track of the same language in its place', () => {
    const enNew = { ...en, label: 'English (SDH)', lang: 'EN' };
    expect(withTrack([en, fr], enNew)).toEqual([enNew, fr]);
    expect(withTrack([fr], en)).toEqual([fr, en]);
  });
});

function fakeApi() {
  return {
    addCaption: vi.fn(async (_id: string, _token: string, _file: Blob, lang: string, label: string, _type: string): Promise<Caption> => ({
      lang,
      label,
      url: `/captions/v1/${lang}.vtt`,
    })),
    removeCaption: vi.fn(async (_id: string, _token: string, _lang: string) => {}),
  };
}

const owned = { id: 'v1', manageToken: 'tok' };

describe('CaptionsEditor', () => {
  it('the label follows the language until the owner writes one', () => {
    const c = new CaptionsEditor(() => owned, { api: fakeApi() });
    c.setLang('fr');
    expect(c.form.label).toBe('French');
    c.setLang('pt-BR');
    expect(c.form.label).toBe('Brazilian Portuguese');
    c.setLabel('Português');
    c.setLang('pt');
    expect(c.form.label).toBe('Português');
    c.setLabel('');
    c.setLang('it');
    expect(c.form.label).toBe('Italian');
  });

  it('adds a track: the request, the list, the message, and the page is told', async () => {
    const api = fakeApi();
    const onChanged = vi.fn();
    const c = new CaptionsEditor(() => owned, { api, onChanged });
    c.sync([fr]);
    const f = file('subs.vtt');
    c.setFile(f);
    c.setLang('en');
    expect(await c.add()).toBe(true);
    expect(api.addCaption).toHaveBeenCalledWith('v1', 'tok', f, 'en', 'English', 'text/vtt');
    expect(c.tracks.map((t) => t.lang)).toEqual(['fr', 'en']);
    expect(c.message).toBe('Captions “English” added.');
    expect(c.form).toEqual(emptyCaptionForm());
    expect(onChanged).toHaveBeenCalledWith([fr, { lang: 'en', label: 'English', url: '/captions/v1/en.vtt' }]);
  });

  it('adding a language again replaces its track (and says so)', async () => {
    const c = new CaptionsEditor(() => owned, { api: fakeApi() });
    c.sync([en, fr]);
    c.setFile(file('sdh.srt'));
    c.setLang('en');
    expect(c.replacing).toEqual(en);
    c.setLabel('English (SDH)');
    expect(await c.add()).toBe(true);
    expect(c.tracks.map((t) => t.label)).toEqual(['English (SDH)', 'French']);
    expect(c.message).toBe('Captions “English (SDH)” replaced.');
  });

  it('checks the file when it is chosen, and sends nothing while the form is wrong', async () => {
    const api = fakeApi();
    const c = new CaptionsEditor(() => owned, { api });
    c.setFile(file('big.vtt', MAX_CAPTION_BYTES + 1));
    expect(c.errors.file).toContain('at most 512 KB');
    c.setLang('en');
    expect(await c.add()).toBe(false);
    expect(api.addCaption).not.toHaveBeenCalled();
    c.setFile(file('ok.vtt'));
    expect(c.errors).toEqual({});
  });

  it("shows the server's refusal, and a refused key as such", async () => {
    const api = fakeApi();
    const c = new CaptionsEditor(() => owned, { api });
    c.setFile(file('broken.srt'));
    c.setLang('en');
    api.addCaption.mockRejectedValueOnce(new ApiError(400, 'invalid_captions', 'Line 4: this is not a cue time.'));
    expect(await c.add()).toBe(false);
    expect(c.errors).toEqual({ form: 'Line 4: this is not a cue time.' });
    expect(c.adding).toBe(false);
    expect(c.form.file?.name).toBe('broken.srt');

    api.addCaption.mockRejectedValueOnce(new ApiError(415, 'unsupported_media_type', 'Send WebVTT or SubRip.'));
    expect(await c.add()).toBe(false);
    expect(c.errors.form).toBe('Send WebVTT or SubRip.');

    api.addCaption.mockRejectedValueOnce(new ApiError(403, 'forbidden', 'x'));
    expect(await c.add()).toBe(false);
    expect(c.errors.form).toBe('The key this browser holds for this video was not accepted, so the captions were not added.');

    // Editing the form clears what the server said.
    c.setLabel('Other');
    expect(c.errors).toEqual({});
  });

  it('removes a track at once, and says when it could not', async () => {
    const api = fakeApi();
    const onChanged = vi.fn();
    const c = new CaptionsEditor(() => owned, { api, onChanged });
    c.sync([en, fr]);
    expect(await c.remove('EN')).toBe(true);
    expect(api.removeCaption).toHaveBeenCalledWith('v1', 'tok', 'en');
    expect(c.tracks).toEqual([fr]);
    expect(c.message).toBe('Captions “English” removed.');
    expect(onChanged).toHaveBeenLastCalledWith([fr]);

    api.removeCaption.mockRejectedValueOnce(new NetworkError());
    expect(await c.remove('fr')).toBe(false);
    expect(c.tracks).toEqual([fr]);
    expect(c.removeError).toContain('Could not reach the server');
    expect(c.removing).toBeNull();

    expect(await c.remove('de')).toBe(false);
    expect(api.removeCaption).toHaveBeenCalledTimes(2);
  });

  it('one removal at a time', async () => {
    let release!: () => void;
    const api = { ...fakeApi(), removeCaption: vi.fn(() => new Promise<void>((r) => (release = r))) };
    const c = new CaptionsEditor(() => owned, { api });
    c.sync([en, fr]);
    const first = c.remove('en');
    expect(c.removing).toBe('en');
    expect(await c.remove('fr')).toBe(false);
    release();
    expect(await first).toBe(true);
    expect(api.removeCaption).toHaveBeenCalledTimes(1);
  });
});

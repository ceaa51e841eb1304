// "Captions": the caption tracks the owner of a video (this browser holds its manage token) adds and
// removes. `POST /api/video/{id}/captions?lang=…&label=…` with the SRT or WebVTT file as the body, and
// `DELETE /api/video/{id}/captions/{lang}` (docs/api.md). The server converts SRT to WebVTT and checks
// the file; the form checks what it can first, for a clearer message.

import type { Api, Caption } from '../api';
import { formatBytes, formatBytesOver } from '../format';
import { extensionOf } from '../upload/validate';
import { ownerErrorMessage, type OwnedVideo } from './link-settings.svelte';

/** The largest caption file the server takes. */
export const MAX_CAPTION_BYTES = 512 * 1024;
/** How many tracks a video may have. */
export const MAX_CAPTION_TRACKS = 20;
export const MAX_LABEL_CHARS = 100;
/** The file chooser's `accept`. */
export const CAPTION_ACCEPT = '.vtt,.srt,text/vtt,application/x-subrip';

/** A BCP 47 language tag, as far as the form checks it: `en`, `pt-BR`, `zh-Hans`, `es-419`. */
export const LANG_PATTERN = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

/** Offered in the language field's list (any other valid tag may be typed). */
export const COMMON_LANGS: readonly string[] = [
  'en',
  'en-US',
  'en-GB',
  'es',
  'es-419',
  'fr',
  'fr-CA',
  'de',
  'it',
  'pt',
  'pt-BR',
  'nl',
  'sv',
  'da',
  'nb',
  'fi',
  'pl',
  'cs',
  'hu',
  'ro',
  'el',
  'tr',
  'ru',
  'uk',
  'he',
  'ar',
  'fa',
  'hi',
  'bn',
  'ta',
  'th',
  'vi',
  'id',
  'ms',
  'ja',
  'ko',
  'zh-Hans',
  'zh-Hant',
];

export function isValidLang(tag: string): boolean {
  return LANG_PATTERN.test(tag.trim());
}

/** The same track language, whatever the case (`pt-br` is `pt-BR`). */
export function sameLang(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** The language's name (`pt-BR` → `Brazilian Portuguese`), or '' when it is not a tag or not known. */
export function languageLabel(tag: string, locale = 'en'): string {
  const t = tag.trim();
  if (!isValidLang(t)) return '';
  try {
    const name = new Intl.DisplayNames([locale], { type: 'language', fallback: 'none' }).of(t);
    if (!name) return '';
    return name.charAt(0).toLocaleUpperCase(locale) + name.slice(1);
  } catch {
    return '';
  }
}

export type CaptionFormat = 'vtt' | 'srt';

/** The format a file name says, or null. */
export function captionFormat(name: string): CaptionFormat | null {
  const ext = extensionOf(name);
  return ext === 'vtt' || ext === 'srt' ? ext : null;
}

/** The `Content-Type` the file goes with. */
export function captionContentType(name: string): string {
  switch (captionFormat(name)) {
    case 'vtt':
      return 'text/vtt';
    case 'srt':
      return 'application/x-subrip';
    default:
      return 'application/octet-stream';
  }
}

/** What the form holds. */
export interface CaptionForm {
  file: File | null;
  lang: string;
  label: string;
  /** The owner typed a label of their own: a change of language no longer replaces it. */
  labelEdited: boolean;
}

export interface CaptionErrors {
  file?: string;
  lang?: string;
  label?: string;
  /** Not about one field (what the server said). */
  form?: string;
}

export interface CaptionRequest {
  file: File;
  lang: string;
  label: string;
  contentType: string;
}

/** The track with that language, which adding it would replace. */
export function trackFor(lang: string, tracks: readonly Caption[]): Caption | undefined {
  return tracks.find((t) => sameLang(t.lang, lang));
}

/** What is wrong with a file the owner chose, or ''. */
export function fileProblem(file: Pick<File, 'name' | 'size'> | null): string {
  if (!file) return 'Choose a caption file (.vtt or .srt).';
  if (!captionFormat(file.name)) return 'Choose a WebVTT (.vtt) or SubRip (.srt) file.';
  if (file.size === 0) return 'This file is empty.';
  if (file.size > MAX_CAPTION_BYTES) {
    return `This file is ${formatBytesOver(file.size, MAX_CAPTION_BYTES)}; a caption file may be at most ${formatBytes(MAX_CAPTION_BYTES)}.`;
  }
  return '';
}

/** The request the form makes, or what is wrong with it. */
export function buildCaptionRequest(form: CaptionForm, tracks: readonly Caption[]): { request: CaptionRequest | null; errors: CaptionErrors } {
  const errors: CaptionErrors = {};
  const file = fileProblem(form.file);
  if (file) errors.file = file;

  const lang = form.lang.trim();
  if (lang === '') errors.lang = 'Enter the language of the captions, e.g. en or pt-BR.';
  else if (!isValidLang(lang)) errors.lang = 'Enter a language tag such as en, fr, pt-BR or zh-Hans.';
  else if (!trackFor(lang, tracks) && tracks.length >= MAX_CAPTION_TRACKS) {
    errors.lang = `A video may have at most ${MAX_CAPTION_TRACKS} caption tracks. Remove one first.`;
  }

  const label = form.label.trim() || (errors.lang ? '' : languageLabel(lang)) || lang;
  if (!errors.lang && label === '') errors.label = 'Enter a label.';
  else if ([...label].length > MAX_LABEL_CHARS) errors.label = `At most ${MAX_LABEL_CHARS} characters.`;

  if (Object.keys(errors).length > 0 || !form.file) return { request: null, errors };
  return { request: { file: form.file, lang, label, contentType: captionContentType(form.file.name) }, errors };
}

/** The list with a track added, or put in the place of the one of the same language. */
export function withTrack(tracks: readonly Caption[], track: Caption): Caption[] {
  const i = tracks.findIndex((t) => sameLang(t.lang, track.lang));
  if (i < 0) return [...tracks, track];
  return tracks.map((t, j) => (j === i ? track : t));
}

export function emptyCaptionForm(): CaptionForm {
  return { file: null, lang: '', label: '', labelEdited: false };
}

export interface CaptionsDeps {
  api: Pick<Api, 'addCaption' | 'removeCaption'>;
  /** The tracks changed on the server: the page asks for the video again (the player gets them). */
  onChanged?(tracks: Caption[]): void;
}

export class CaptionsEditor {
  /** The video's tracks, as the page last knew them and as changed here since. */
  tracks = $state<Caption[]>([]);
  form = $state<CaptionForm>(emptyCaptionForm());
  errors = $state<CaptionErrors>({});
  adding = $state(false);
  /** The language of the track being removed. */
  removing = $state<string | null>(null);
  removeError = $state('');
  /** Said (politely) once a change is made. */
  message = $state('');

  readonly #deps: CaptionsDeps;

  constructor(
    private readonly owned: () => OwnedVideo,
    deps: CaptionsDeps,
  ) {
    this.#deps = deps;
  }

  /** The page's video came (again) with its tracks. */
  sync(tracks: readonly Caption[] | null | undefined): void {
    this.tracks = [...(tracks ?? [])];
  }

  /** The track the form's language would replace. */
  get replacing(): Caption | undefined {
    return isValidLang(this.form.lang) ? trackFor(this.form.lang, this.tracks) : undefined;
  }

  get full(): boolean {
    return this.tracks.length >= MAX_CAPTION_TRACKS;
  }

  setFile(file: File | null): void {
    this.form.file = file;
    this.message = '';
    this.#clear('file', 'form');
    // Say at once when the file will not do.
    if (file) {
      const problem = fileProblem(file);
      if (problem) this.errors = { ...this.errors, file: problem };
    }
  }

  /** The language was typed: the label follows it until the owner writes one of their own. */
  setLang(value: string): void {
    this.form.lang = value;
    this.#clear('lang', 'form');
    if (!this.form.labelEdited) {
      this.form.label = languageLabel(value);
      this.#clear('label');
    }
  }

  setLabel(value: string): void {
    this.form.label = value;
    this.form.labelEdited = value.trim() !== '';
    this.#clear('label', 'form');
  }

  /** Sends the file. True once the server took it. */
  async add(): Promise<boolean> {
    if (this.adding) return false;
    this.message = '';
    const { request, errors } = buildCaptionRequest(this.form, this.tracks);
    this.errors = errors;
    if (!request) return false;
    const { id, manageToken } = this.owned();
    const replaced = trackFor(request.lang, this.tracks);
    this.adding = true;
    let track: Caption;
    try {
      track = await this.#deps.api.addCaption(id, manageToken, request.file, request.lang, request.label, request.contentType);
    } catch (e) {
      this.errors = { form: ownerErrorMessage(e, 'the captions were not added') };
      return false;
    } finally {
      this.adding = false;
    }
    this.tracks = withTrack(this.tracks, track);
    this.form = emptyCaptionForm();
    this.message = replaced ? `Captions “${track.label}” replaced.` : `Captions “${track.label}” added.`;
    this.#deps.onChanged?.(this.tracks);
    return true;
  }

  /** Removes a track at once (no undo: the file can be added again). True once gone. */
  async remove(lang: string): Promise<boolean> {
    if (this.removing !== null) return false;
    const track = trackFor(lang, this.tracks);
    if (!track) return false;
    const { id, manageToken } = this.owned();
    this.message = '';
    this.removeError = '';
    this.removing = track.lang;
    try {
      await this.#deps.api.removeCaption(id, manageToken, track.lang);
    } catch (e) {
      this.removeError = ownerErrorMessage(e, 'the captions were not removed');
      return false;
    } finally {
      this.removing = null;
    }
    this.tracks = this.tracks.filter((t) => !sameLang(t.lang, track.lang));
    this.message = `Captions “${track.label}” removed.`;
    this.#deps.onChanged?.(this.tracks);
    return true;
  }

  #clear(...fields: Array<keyof CaptionErrors>): void {
    if (!fields.some((f) => this.errors[f] !== undefined)) return;
    const next = { ...this.errors };
    for (const f of fields) delete next[f];
    this.errors = next;
  }
}

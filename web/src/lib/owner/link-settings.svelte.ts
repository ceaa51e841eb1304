// "Link settings": what the owner of a video (this browser holds its manage token) may change about
// it — its title, a password, when the link expires, how many views it allows, whether viewers may
// download the original — and revoking its link
// for a new one. `PATCH /api/video/{id}` and `POST /api/video/{id}/revoke` (docs/api.md).

import { ApiError, isPasswordRequired, type Api, type LinkUpdate, type Video } from '../api';
import { formatDate } from '../format';

export const MAX_TITLE_CHARS = 200;
export const MAX_PASSWORD_CHARS = 256;

/** How the expiry is chosen: left as it is, never, from now on, or at a date and time. */
export type ExpiryChoice = 'keep' | 'never' | '1h' | '1d' | '7d' | '30d' | 'custom';

const HOUR = 3600 * 1000;
export const EXPIRY_PRESETS: ReadonlyArray<{ value: ExpiryChoice; label: string; ms?: number }> = [
  { value: 'never', label: 'Never' },
  { value: '1h', label: 'In 1 hour', ms: HOUR },
  { value: '1d', label: 'In 1 day', ms: 24 * HOUR },
  { value: '7d', label: 'In 7 days', ms: 7 * 24 * HOUR },
  { value: '30d', label: 'In 30 days', ms: 30 * 24 * HOUR },
  { value: 'custom', label: 'On a date…' },
];

/** The choices offered for a video that expires at `expiresAt` (or never). */
export function expiryOptions(expiresAt: string | null | undefined): Array<{ value: ExpiryChoice; label: string }> {
  const options = EXPIRY_PRESETS.map(({ value, label }) => ({ value, label }));
  if (expiresAt) options.unshift({ value: 'keep', label: `Unchanged (${formatDate(expiresAt)})` });
  return options;
}

/** What the owner sees of the expiry now. */
export function describeExpiry(expiresAt: string | null | undefined, now: Date = new Date()): string {
  if (!expiresAt) return 'The link never expires.';
  const at = new Date(expiresAt);
  if (Number.isNaN(at.getTime())) return 'The link never expires.';
  if (at.getTime() <= now.getTime()) return 'The link has expired.';
  return `The link stops working on ${formatDate(expiresAt)}.`;
}

/** "N views left" (with a limit), or '' without one. */
export function viewsLeftText(viewsLeft: number | null | undefined): string {
  if (viewsLeft == null) return '';
  return `${viewsLeft} ${viewsLeft === 1 ? 'view' : 'views'} left`;
}

/** A `datetime-local` value (`2026-12-01T14:30`) for a moment, in the reader's time zone. */
export function toLocalInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value as a moment (it is local time), or null when it is not one. */
export function fromLocalInput(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const date = new Date(y, mo - 1, d, h, mi, s);
  // 2026-02-31 would roll over into March: not a date.
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return null;
  return date;
}

/** What the form holds. */
export interface LinkForm {
  title: string;
  requirePassword: boolean;
  /** A new password ('' keeps the current one, if there is one). */
  newPassword: string;
  expiry: ExpiryChoice;
  /** The `datetime-local` value, for `custom`. */
  customExpiry: string;
  limitViews: boolean;
  maxViews: number | null;
  /** Viewers get a Download button for the original file. */
  allowDownload: boolean;
}

export interface FieldErrors {
  title?: string;
  password?: string;
  expiry?: string;
  maxViews?: string;
  /** Not about one field. */
  form?: string;
}

/** The form as a video's current settings fill it. */
export function formOf(video: Video, now: Date = new Date()): LinkForm {
  return {
    title: video.title,
    requirePassword: video.passwordProtected === true,
    newPassword: '',
    expiry: video.expiresAt ? 'keep' : 'never',
    customExpiry: toLocalInput(video.expiresAt ? new Date(video.expiresAt) : new Date(now.getTime() + 24 * HOUR)),
    limitViews: video.maxViews != null,
    maxViews: video.maxViews ?? 1,
    allowDownload: video.allowDownload === true,
  };
}

/**
 * The `PATCH` body for what changed between the video and the form (only what changed: setting the
 * same view limit again would restart its count), or what is wrong with the form.
 */
export function buildUpdate(video: Video, form: LinkForm, now: Date = new Date()): { update: LinkUpdate; errors: FieldErrors } {
  const update: LinkUpdate = {};
  const errors: FieldErrors = {};

  const title = form.title.trim();
  if (title === '') errors.title = 'Enter a title.';
  else if ([...title].length > MAX_TITLE_CHARS) errors.title = `At most ${MAX_TITLE_CHARS} characters.`;
  else if (title !== video.title) update.title = title;

  const protectedNow = video.passwordProtected === true;
  if (form.requirePassword) {
    if (form.newPassword !== '') {
      if ([...form.newPassword].length > MAX_PASSWORD_CHARS) errors.password = `At most ${MAX_PASSWORD_CHARS} characters.`;
      else update.password = form.newPassword;
    } else if (!protectedNow) {
      errors.password = 'Enter the password viewers will need.';
    }
  } else if (protectedNow) {
    update.password = null;
  }

  switch (form.expiry) {
    case 'keep':
      break;
    case 'never':
      if (video.expiresAt) update.expiresAt = null;
      break;
    case 'custom': {
      const at = fromLocalInput(form.customExpiry);
      if (!at) errors.expiry = 'Choose a date and a time.';
      else if (at.getTime() <= now.getTime()) errors.expiry = 'Choose a moment in the future.';
      else update.expiresAt = at.toISOString();
      break;
    }
    default: {
      const preset = EXPIRY_PRESETS.find((p) => p.value === form.expiry);
      if (preset?.ms) update.expiresAt = new Date(now.getTime() + preset.ms).toISOString();
    }
  }

  if (form.limitViews) {
    const n = form.maxViews;
    if (n == null || !Number.isInteger(n) || n < 1) errors.maxViews = 'Enter a whole number of views, 1 or more.';
    else if (n !== video.maxViews) update.maxViews = n;
  } else if (video.maxViews != null) {
    update.maxViews = null;
  }

  if (form.allowDownload !== (video.allowDownload === true)) update.allowDownload = form.allowDownload;

  return { update, errors };
}

/** Which field a refusal of the server is about. */
export function fieldOfError(code: string): keyof FieldErrors {
  switch (code) {
    case 'invalid_title':
      return 'title';
    case 'invalid_password':
      return 'password';
    case 'invalid_expiry':
      return 'expiry';
    case 'invalid_max_views':
      return 'maxViews';

    default:
      return 'form';
  }
}

/** Why a change (or a revoke) failed, for a person. */
export function ownerErrorMessage(e: unknown, what = 'nothing was changed'): string {
  if (e instanceof ApiError) {
    if (e.status === 401 || e.status === 403) return `The key this browser holds for this video was not accepted, so ${what}.`;
    if (e.notFound) return 'This video does not exist any more (deleted, expired or out of views).';
  }
  return e instanceof Error && e.message ? e.message : 'Something went wrong. Try again.';
}

export const REVOKE_MESSAGE = 'The current link will stop working for everyone. A new link is made.';

export interface OwnedVideo {
  id: string;
  manageToken: string;
}

export interface LinkSettingsDeps {
  api: Pick<Api, 'video' | 'updateVideo' | 'revokeLink' | 'unlock'>;
  now?: () => Date;
  /** The server took a change: its answer (the owner's view). */
  onSaved?(video: Video): void;
  /** The link was revoked: the video is `newId` from now on. */
  onRevoked?(oldId: string, newId: string): void;
}

export class LinkSettings {
  /** The settings as the server last told them (null until loaded). */
  current = $state<Video | null>(null);
  loading = $state(false);
  loadError = $state('');
  form = $state<LinkForm>({
    title: '',
    requirePassword: false,
    newPassword: '',
    expiry: 'never',
    customExpiry: '',
    limitViews: false,
    maxViews: 1,
    allowDownload: false,
  });
  errors = $state<FieldErrors>({});
  saving = $state(false);
  /** Said (politely) once a change is saved. */
  savedMessage = $state('');
  revoking = $state(false);
  revokeError = $state('');
  /** The id of the link made by the last revoke here. */
  newLinkId = $state<string | null>(null);

  readonly #deps: LinkSettingsDeps;
  readonly #now: () => Date;

  constructor(
    private readonly owned: () => OwnedVideo,
    deps: LinkSettingsDeps,
  ) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Asks the server for the owner's view and fills the form from it. */
  async load(signal?: AbortSignal): Promise<void> {
    const { id, manageToken } = this.owned();
    this.loading = true;
    this.loadError = '';
    try {
      const answer = await this.#deps.api.video(id, signal, manageToken);
      if (isPasswordRequired(answer)) {
        this.loadError = 'The key this browser holds for this video was not accepted.';
        return;
      }
      this.reset(answer);
    } catch (e) {
      if (signal?.aborted) return;
      this.loadError = ownerErrorMessage(e);
    } finally {
      this.loading = false;
    }
  }

  /** Fills the form from the server's settings (after a load or a save). */
  reset(video: Video): void {
    this.current = video;
    this.form = formOf(video, this.#now());
    this.errors = {};
  }

  /** The field was edited: what was said about its old value goes. */
  clearError(field: keyof FieldErrors): void {
    if (this.errors[field] === undefined) return;
    const { [field]: _gone, ...rest } = this.errors;
    this.errors = rest;
  }

  /** The options of the expiry menu. */
  get expiryOptions(): Array<{ value: ExpiryChoice; label: string }> {
    return expiryOptions(this.current?.expiresAt);
  }

  get expiryText(): string {
    return describeExpiry(this.current?.expiresAt, this.#now());
  }

  get viewsLeftText(): string {
    return viewsLeftText(this.current?.viewsLeft);
  }

  /** Sends what changed. True when the server took it (or nothing had changed). */
  async save(): Promise<boolean> {
    const current = this.current;
    if (!current || this.saving) return false;
    this.savedMessage = '';
    const { update, errors } = buildUpdate(current, this.form, this.#now());
    this.errors = errors;
    if (Object.keys(errors).length > 0) return false;
    if (Object.keys(update).length === 0) {
      this.savedMessage = 'Nothing to save: no setting was changed.';
      return true;
    }
    const { id, manageToken } = this.owned();
    this.saving = true;
    let answer: Video;
    try {
      answer = await this.#deps.api.updateVideo(id, manageToken, update);
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) this.errors = { [fieldOfError(e.code)]: e.message };
      else this.errors = { form: ownerErrorMessage(e) };
      return false;
    } finally {
      this.saving = false;
    }
    // The owner keeps watching here: the stream wants the (new) password's proof from this browser too,
    // which the manage token gets.
    if (typeof update.password === 'string' || typeof update.maxViews === 'number') {
      await this.#deps.api.unlock(answer.id || id, null, manageToken).catch(() => {});
    }
    this.reset(answer);
    this.savedMessage = 'Saved.';
    this.#deps.onSaved?.(answer);
    return true;
  }

  /** Gives the video a new link (the old one stops working). True when done. */
  async revoke(): Promise<boolean> {
    if (this.revoking) return false;
    const { id, manageToken } = this.owned();
    this.revoking = true;
    this.revokeError = '';
    try {
      const link = await this.#deps.api.revokeLink(id, manageToken);
      this.newLinkId = link.id;
      if (this.current) this.current = { ...this.current, id: link.id, url: link.url, streamUrl: link.streamUrl, thumbnailUrl: link.thumbnailUrl };
      this.#deps.onRevoked?.(id, link.id);
      return true;
    } catch (e) {
      this.revokeError = ownerErrorMessage(e, 'the link was not changed');
      return false;
    } finally {
      this.revoking = false;
    }
  }
}

// The password form of a protected video's share page: `POST /api/video/{id}/unlock`, then the
// server's cookie lets this browser see the video (status, playlists, segments, thumbnail).

import { ApiError, type Api } from '../api';

export const WRONG_PASSWORD = 'Wrong password';
export const EMPTY_PASSWORD = 'Enter the password';

/** "Too many tries; try again in N s". */
export function tooManyTriesMessage(seconds: number): string {
  return `Too many tries; try again in ${Math.max(1, Math.ceil(seconds))} s`;
}

/** Why an unlock failed, for a person. */
export function unlockErrorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'wrong_password' || (e.status === 401 && e.code !== 'password_required')) return WRONG_PASSWORD;
    if (e.status === 429) return tooManyTriesMessage(e.retryAfterSeconds ?? 60);
    if (e.notFound) return 'This video does not exist or was deleted.';
  }
  return e instanceof Error && e.message ? e.message : 'The video could not be unlocked. Try again.';
}

export interface UnlockDeps {
  api: Pick<Api, 'unlock'>;
  now?: () => number;
}

export class UnlockForm {
  password = $state('');
  busy = $state(false);
  /** What went wrong, for the aria-live region next to the form ('' when nothing). */
  error = $state('');
  /** The server said to wait until then (ms since the epoch) before trying again. */
  #blockedUntil = 0;
  readonly #api: Pick<Api, 'unlock'>;
  readonly #now: () => number;

  constructor(
    private readonly id: () => string,
    deps: UnlockDeps,
  ) {
    this.#api = deps.api;
    this.#now = deps.now ?? (() => Date.now());
  }

  /** Seconds left before the server takes another try (0: now). */
  get waitSeconds(): number {
    return Math.max(0, Math.ceil((this.#blockedUntil - this.#now()) / 1000));
  }

  /** Sends the password; true once the browser holds the server's proof. */
  async submit(): Promise<boolean> {
    if (this.busy) return false;
    if (this.password === '') {
      this.error = EMPTY_PASSWORD;
      return false;
    }
    const wait = this.waitSeconds;
    if (wait > 0) {
      // The server would refuse it anyway: say again how long, without spending a try.
      this.error = tooManyTriesMessage(wait);
      return false;
    }
    this.busy = true;
    this.error = '';
    try {
      await this.#api.unlock(this.id(), this.password);
    } catch (e) {
      if (e instanceof ApiError && e.status === 429) this.#blockedUntil = this.#now() + (e.retryAfterSeconds ?? 60) * 1000;
      this.error = unlockErrorMessage(e);
      // A wrong password is cleared so the next one can be typed at once.
      if (e instanceof ApiError && e.code === 'wrong_password') this.password = '';
      return false;
    } finally {
      this.busy = false;
    }
    this.password = '';
    return true;
  }
}

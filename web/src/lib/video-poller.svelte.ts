// One video's live status: asks `GET /api/video/{id}`, runs `reduce` on every answer, and asks again
// after the delay its policy gives for the new view (the share page: about every second while the
// upload runs; a row of "My videos": every few seconds). The one poller of the app.

import { api as defaultApi, ApiError, isPasswordRequired, type Api } from './api';
import { initialView, reduce, sharePollDelay, type ShareEvent, type ShareView } from './share/share-state';

export interface PollerOptions {
  client?: Pick<Api, 'video'>;
  /** Milliseconds until the next question for a view, or null to stop. */
  delay?: (view: ShareView) => number | null;
  /**
   * The video's manage token, when this browser holds it: asked with it, the server answers the
   * owner's view (link settings included, no password needed). Read at every question.
   */
  manageToken?: () => string | null | undefined;
}

export class VideoPoller {
  #view = $state<ShareView>(initialView);

  #timer: ReturnType<typeof setTimeout> | null = null;
  #controller: AbortController | null = null;
  #stopped = true;
  readonly #client: Pick<Api, 'video'>;
  readonly #delay: (view: ShareView) => number | null;
  readonly #manageToken: () => string | null | undefined;
  /** The token was refused once: ask as any viewer from then on. */
  #tokenRefused = false;
  #id: string;

  constructor(id: string, options: PollerOptions = {}) {
    this.#id = id;
    this.#client = options.client ?? defaultApi;
    this.#delay = options.delay ?? sharePollDelay();
    this.#manageToken = options.manageToken ?? (() => null);
  }

  get id(): string {
    return this.#id;
  }

  /**
   * Follows the video under another id (its link was revoked and replaced): what is shown stays until
   * the answer for the new id comes, asked at once.
   */
  retarget(id: string): void {
    if (id === this.#id) return;
    this.#id = id;
    this.#tokenRefused = false;
    if (this.#stopped) return;
    this.#controller?.abort();
    this.#controller = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#poll();
  }

  get view(): ShareView {
    return this.#view;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#poll();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#controller?.abort();
    this.#controller = null;
  }

  /**
   * Asks now instead of waiting for the next tick (the tab became visible again, the upload just
   * ended), unless a question is already on its way. Also restarts a poller that had stopped.
   */
  refresh(): void {
    if (this.#stopped || this.#controller) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#poll();
  }

  async #poll(): Promise<void> {
    this.#timer = null;
    const controller = new AbortController();
    this.#controller = controller;
    let event: ShareEvent;
    const token = this.#tokenRefused ? null : this.#manageToken() || null;
    try {
      const answer = await this.#client.video(this.#id, controller.signal, token);
      event = isPasswordRequired(answer) ? { type: 'locked' } : { type: 'status', video: answer };
    } catch (e) {
      if (controller.signal.aborted) return;
      if (token && e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        // A key the server does not take (not this video's any more): ask as any viewer, now.
        this.#tokenRefused = true;
        if (this.#controller === controller) this.#controller = null;
        if (!this.#stopped) void this.#poll();
        return;
      }
      if (e instanceof ApiError && e.notFound) event = { type: 'not_found' };
      else event = { type: 'failed', message: e instanceof Error ? e.message : String(e) };
    } finally {
      if (this.#controller === controller) this.#controller = null;
    }
    if (this.#stopped || controller.signal.aborted) return;
    this.#view = reduce(this.#view, event);
    const delay = this.#delay(this.#view);
    if (delay !== null) this.#timer = setTimeout(() => void this.#poll(), delay);
  }
}

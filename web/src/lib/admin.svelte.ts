// The admin listing (`GET /api/videos`): the token lives in sessionStorage only (gone with the tab).

import { api as defaultApi, ApiError, type Api, type Video } from './api';
import { browserStorage } from './library.svelte';

export const ADMIN_TOKEN_KEY = 'flick.adminToken';

/** The admin listing's state: one per panel; read through getters, changed only by its methods. */
export class AdminListing {
  #token = $state('');
  #videos = $state<Video[] | null>(null);
  #loading = $state(false);
  #error = $state('');

  constructor(
    private readonly storage: Storage | null = browserStorage('session'),
    private readonly client: Pick<Api, 'adminVideos'> = defaultApi,
  ) {
    try {
      this.#token = storage?.getItem(ADMIN_TOKEN_KEY) ?? '';
    } catch {
      this.#token = '';
    }
  }

  /** The videos of the last listing, newest first; null before one (or after a refusal). */
  get videos(): Video[] | null {
    return this.#videos;
  }

  get loading(): boolean {
    return this.#loading;
  }

  /** Why the last listing failed, in words for the admin; empty when it did not. */
  get error(): string {
    return this.#error;
  }

  get hasSavedToken(): boolean {
    return this.#token !== '';
  }

  async load(token: string = this.#token): Promise<void> {
    token = token.trim();
    if (!token) {
      this.#error = 'Enter the admin token.';
      return;
    }
    this.#loading = true;
    this.#error = '';
    try {
      this.#videos = await this.client.adminVideos(token, 100, 0);
      this.#token = token;
      try {
        this.storage?.setItem(ADMIN_TOKEN_KEY, token);
      } catch {
        // not kept: asked again next time
      }
    } catch (e) {
      this.#videos = null;
      if (e instanceof ApiError && e.notFound) {
        this.#error = 'Wrong token.';
        this.forget(false);
      } else {
        this.#error = e instanceof Error ? e.message : String(e);
      }
    } finally {
      this.#loading = false;
    }
  }

  forget(clearList = true): void {
    this.#token = '';
    if (clearList) this.#videos = null;
    try {
      this.storage?.removeItem(ADMIN_TOKEN_KEY);
    } catch {
      // nothing to do
    }
  }
}

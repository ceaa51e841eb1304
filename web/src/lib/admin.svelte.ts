// The admin listing (`GET /api/videos`): the token lives in sessionStorage only (gone with the tab).

import { api as defaultApi, ApiError, type Api, type Video } from './api';
import { browserStorage } from './library.svelte';

export const ADMIN_TOKEN_KEY = 'flick.adminToken';

export class AdminModel {
  token = $state('');
  videos = $state<Video[] | null>(null);
  loading = $state(false);
  error = $state('');

  constructor(
    private readonly storage: Storage | null = browserStorage('session'),
    private readonly client: Pick<Api, 'adminVideos'> = defaultApi,
  ) {
    try {
      this.token = storage?.getItem(ADMIN_TOKEN_KEY) ?? '';
    } catch {
      this.token = '';
    }
  }

  get hasSavedToken(): boolean {
    return this.token !== '';
  }

  async load(token: string = this.token): Promise<void> {
    token = token.trim();
    if (!token) {
      this.error = 'Enter the admin token.';
      return;
    }
    this.loading = true;
    this.error = '';
    try {
      this.videos = await this.client.adminVideos(token, 100, 0);
      this.token = token;
      try {
        this.storage?.setItem(ADMIN_TOKEN_KEY, token);
      } catch {
        // not kept: asked again next time
      }
    } catch (e) {
      this.videos = null;
      if (e instanceof ApiError && e.notFound) {
        this.error = 'Wrong token.';
        this.forget(false);
      } else {
        this.error = e instanceof Error ? e.message : String(e);
      }
    } finally {
      this.loading = false;
    }
  }

  forget(clearList = true): void {
    this.token = '';
    if (clearList) this.videos = null;
    try {
      this.storage?.removeItem(ADMIN_TOKEN_KEY);
    } catch {
      // nothing to do
    }
  }
}

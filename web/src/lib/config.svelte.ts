// The server's public limits (`GET /api/config`), loaded once per page load.

import { api, type PublicConfig } from './api';

export class AppConfig {
  value = $state<PublicConfig | null>(null);
  failed = $state(false);
  private pending: Promise<PublicConfig | null> | null = null;

  load(): Promise<PublicConfig | null> {
    this.pending ??= api.config().then(
      (c) => {
        this.value = c;
        this.failed = false;
        return c;
      },
      () => {
        this.failed = true;
        this.pending = null; // try again next time someone asks
        return null;
      },
    );
    return this.pending;
  }
}

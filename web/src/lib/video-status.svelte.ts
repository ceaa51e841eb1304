// One video's status for a list row: asked once, then every few seconds while it is processing.

import { api as defaultApi, ApiError, type Api, type Video } from './api';

export type RowStatus =
  | { kind: 'loading' }
  | { kind: 'video'; video: Video }
  | { kind: 'gone' }
  | { kind: 'unreachable'; message: string };

export class VideoStatus {
  status = $state<RowStatus>({ kind: 'loading' });
  private timer: ReturnType<typeof setTimeout> | null = null;
  private controller: AbortController | null = null;
  private stopped = true;

  constructor(
    readonly id: string,
    private readonly client: Pick<Api, 'video'> = defaultApi,
    private readonly intervalMs = 3000,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.controller?.abort();
  }

  private async poll(): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    let again = false;
    try {
      const video = await this.client.video(this.id, controller.signal);
      if (this.stopped) return;
      this.status = { kind: 'video', video };
      again = video.status === 'processing';
    } catch (e) {
      if (controller.signal.aborted || this.stopped) return;
      if (e instanceof ApiError && e.notFound) {
        this.status = { kind: 'gone' };
      } else {
        // Keep what we knew; say so only when we knew nothing.
        if (this.status.kind === 'loading') this.status = { kind: 'unreachable', message: e instanceof Error ? e.message : String(e) };
        again = true;
      }
    }
    if (again && !this.stopped) this.timer = setTimeout(() => void this.poll(), this.intervalMs);
  }
}

// The share page's live state: polls `GET /api/video/{id}` and runs `reduce` on every answer.

import { api as defaultApi, ApiError, type Api } from '../api';
import { initialView, nextPollDelay, reduce, type ShareEvent, type ShareView } from './share-state';

export class ShareModel {
  view = $state<ShareView>(initialView);

  private timer: ReturnType<typeof setTimeout> | null = null;
  private controller: AbortController | null = null;
  private stopped = true;

  constructor(
    readonly id: string,
    private readonly client: Pick<Api, 'video'> = defaultApi,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
  }

  /** Asks now instead of waiting for the next tick (e.g. the tab became visible again). */
  refresh(): void {
    if (this.stopped || this.controller) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (nextPollDelay(this.view) !== null) void this.poll();
  }

  private async poll(): Promise<void> {
    this.timer = null;
    const controller = new AbortController();
    this.controller = controller;
    let event: ShareEvent;
    try {
      const video = await this.client.video(this.id, controller.signal);
      event = { type: 'status', video };
    } catch (e) {
      if (controller.signal.aborted) return;
      if (e instanceof ApiError && e.notFound) event = { type: 'not_found' };
      else event = { type: 'failed', message: e instanceof Error ? e.message : String(e) };
    } finally {
      if (this.controller === controller) this.controller = null;
    }
    if (this.stopped) return;
    this.view = reduce(this.view, event);
    const delay = nextPollDelay(this.view);
    if (delay !== null) this.timer = setTimeout(() => void this.poll(), delay);
  }
}

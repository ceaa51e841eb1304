// Helpers for unit tests only.

import type { Video } from './api';

/** An in-memory Storage, optionally failing on writes (quota) or on everything (disabled). */
export class MemoryStorage implements Storage {
  private data = new Map<string, string>();
  failWrites = false;
  failAll = false;

  get length(): number {
    return this.data.size;
  }
  clear(): void {
    this.data.clear();
  }
  getItem(key: string): string | null {
    if (this.failAll) throw new DOMException('denied', 'SecurityError');
    return this.data.has(key) ? this.data.get(key)! : null;
  }
  key(index: number): string | null {
    return [...this.data.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
  setItem(key: string, value: string): void {
    if (this.failAll || this.failWrites) throw new DOMException('full', 'QuotaExceededError');
    this.data.set(key, String(value));
  }
}

export function video(over: Partial<Video> = {}): Video {
  return {
    id: '603890dc34b540aebcc57525ad97e5ff',
    title: 'holiday',
    status: 'processing',
    playable: false,
    playableSeconds: 0,
    progress: 0,
    receivedBytes: 104857600,
    url: '/v/603890dc34b540aebcc57525ad97e5ff',
    streamUrl: '/streams/603890dc34b540aebcc57525ad97e5ff/master.m3u8',
    thumbnailUrl: null,
    durationSeconds: 61.2,
    width: 1920,
    height: 1080,
    sizeBytes: 104857600,
    createdAt: '2026-11-24T08:00:00.000Z',
    error: null,
    ...over,
  };
}

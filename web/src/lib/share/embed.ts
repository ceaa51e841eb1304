// "Embed": the `<iframe>` snippet that puts a video's player (`/embed/{id}`, the player alone) on
// another site.

import type { Video } from '../api';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML, in an element or in a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

export const EMBED_LONG_SIDE = 640;

/**
 * The size the snippet gives the frame: the video's shape, its longer side 640 px (640 × 360 until
 * the shape is known).
 */
export function embedSize(width: number | null | undefined, height: number | null | undefined): { width: number; height: number } {
  if (!width || !height || width <= 0 || height <= 0) return { width: EMBED_LONG_SIDE, height: 360 };
  if (width >= height) return { width: EMBED_LONG_SIDE, height: Math.max(1, Math.round((EMBED_LONG_SIDE * height) / width)) };
  return { width: Math.max(1, Math.round((EMBED_LONG_SIDE * width) / height)), height: EMBED_LONG_SIDE };
}

/** The embeddable player's path: the server's `embedUrl`, else `/embed/{id}`. */
export function embedPath(video: Pick<Video, 'id' | 'embedUrl'>): string {
  return video.embedUrl || `/embed/${encodeURIComponent(video.id)}`;
}

/** The `<iframe>` to paste in another page. */
export function embedSnippet(video: Pick<Video, 'id' | 'embedUrl' | 'title' | 'width' | 'height'>, origin: string): string {
  const src = /^https?:\/\//i.test(embedPath(video)) ? embedPath(video) : `${origin}${embedPath(video)}`;
  const { width, height } = embedSize(video.width, video.height);
  const title = video.title.trim() || 'Video';
  return (
    `<iframe src="${escapeHtml(src)}" width="${width}" height="${height}" style="border:0" ` +
    `allow="fullscreen; picture-in-picture" allowfullscreen title="${escapeHtml(title)}"></iframe>`
  );
}

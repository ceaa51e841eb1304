// Seek-bar previews: a storyboard is a WebVTT "thumbnail track" whose cues each name a tile of a sprite
// image for a span of the video:
//
//   WEBVTT
//
//   00:00:05.000 --> 00:00:10.000
//   storyboard-000.jpg#xywh=160,0,160,90
//
// The image URI is relative to the VTT file's URL. The file is untrusted input: a line that does not
// parse is skipped, nothing of it ever becomes markup, and only images of this page's own origin are
// used (a relative URI, or an absolute one to the same origin; never another host, `data:` or
// `javascript:`).

/** One tile: the part of a sprite that shows [start, end) of the video. */
export interface StoryboardTile {
  start: number;
  end: number;
  /** The sprite, an absolute same-origin URL without the fragment. */
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** More than any real storyboard (a tile every second of a 5-hour video is 18,000). */
export const MAX_TILES = 50_000;
/** The most of a file that is read (a 5-hour storyboard is well under 2 MB). */
export const MAX_STORYBOARD_CHARS = 4_000_000;
/** A tile larger than this on either side is not a preview. */
export const MAX_TILE_SIDE = 1024;
/** A sprite offset beyond this is nonsense. */
const MAX_OFFSET = 65_536;

const TIMESTAMP = /^(?:(\d{1,5}):)?([0-5]\d):([0-5]\d)\.(\d{3})$/;

/** A WebVTT timestamp (`hh:mm:ss.ttt` or `mm:ss.ttt`) in seconds, or null. */
export function parseTimestamp(text: string): number | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const [, h, mm, ss, ms] = m;
  return Number(h ?? 0) * 3600 + Number(mm) * 60 + Number(ss) + Number(ms) / 1000;
}

const XYWH = /^xywh=(?:pixel:)?(\d{1,6}),(\d{1,6}),(\d{1,6}),(\d{1,6})$/;

/**
 * A cue's payload (`sprite.jpg#xywh=x,y,w,h`) as a tile's image and rectangle, the image resolved
 * against the VTT file's URL; null when it is not one, or not of `pageOrigin`.
 */
export function parseTileRef(payload: string, vttUrl: string | URL, pageOrigin: string): Omit<StoryboardTile, 'start' | 'end'> | null {
  // Anything a URL parser would quietly drop or fix (spaces, controls, quotes) makes the line suspect.
  if (payload.length === 0 || payload.length > 2048 || /[\s"'<>\\`\u0000-\u001f\u007f]/.test(payload)) return null;
  const hash = payload.indexOf('#');
  if (hash <= 0) return null;
  const rect = XYWH.exec(payload.slice(hash + 1));
  if (!rect) return null;
  const [x, y, w, h] = rect.slice(1).map(Number);
  if (w <= 0 || h <= 0 || w > MAX_TILE_SIDE || h > MAX_TILE_SIDE || x > MAX_OFFSET || y > MAX_OFFSET) return null;
  const url = sameOriginUrl(payload.slice(0, hash), vttUrl, pageOrigin);
  return url ? { url, x, y, w, h } : null;
}

/** `ref` resolved against `base`, when the result is an http(s) URL of `pageOrigin`; else null. */
export function sameOriginUrl(ref: string, base: string | URL, pageOrigin: string): string | null {
  let url: URL;
  try {
    url = new URL(ref, base);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.origin !== pageOrigin || url.username || url.password) return null;
  url.hash = '';
  return url.href;
}

/**
 * The tiles of a storyboard file, in time order. Not WebVTT (no `WEBVTT` first line): none. A cue
 * whose timing or payload does not parse is skipped, as are NOTE, STYLE and REGION blocks.
 */
export function parseStoryboard(text: string, vttUrl: string | URL, pageOrigin: string): StoryboardTile[] {
  if (typeof text !== 'string') return [];
  const lines = text.slice(0, MAX_STORYBOARD_CHARS).replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  if (!/^WEBVTT(?:[ \t].*)?$/.test(lines[0] ?? '')) return [];
  const tiles: StoryboardTile[] = [];
  let i = 1;
  while (i < lines.length && tiles.length < MAX_TILES) {
    // A block: the lines up to the next blank one.
    while (i < lines.length && lines[i].trim() === '') i++;
    const block: string[] = [];
    while (i < lines.length && lines[i].trim() !== '') block.push(lines[i++]);
    if (block.length === 0) break;
    if (/^(NOTE|STYLE|REGION)(?:[ \t]|$)/.test(block[0])) continue;
    // The timing line is the first, or the second after a cue identifier.
    const at = block[0].includes('-->') ? 0 : block.length > 1 && block[1].includes('-->') ? 1 : -1;
    if (at < 0) continue;
    const timing = /^\s*(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t].*)?$/.exec(block[at]);
    const start = timing ? parseTimestamp(timing[1]) : null;
    const end = timing ? parseTimestamp(timing[2]) : null;
    if (start === null || end === null || !(end > start)) continue;
    const payload = block[at + 1]?.trim();
    const ref = payload ? parseTileRef(payload, vttUrl, pageOrigin) : null;
    if (ref) tiles.push({ start, end, ...ref });
  }
  // Stable: cues of the same start keep the file's order.
  return tiles.sort((a, b) => a.start - b.start);
}

/** The tile showing `seconds` (the last one also at its very end), or null. */
export function tileAt(tiles: readonly StoryboardTile[], seconds: number): StoryboardTile | null {
  if (!Number.isFinite(seconds) || tiles.length === 0) return null;
  // The last tile starting at or before `seconds`.
  let lo = 0;
  let hi = tiles.length - 1;
  if (seconds < tiles[0].start) return null;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tiles[mid].start <= seconds) lo = mid;
    else hi = mid - 1;
  }
  const tile = tiles[lo];
  if (seconds < tile.end || (lo === tiles.length - 1 && seconds <= tile.end)) return tile;
  return null;
}

/** A CSS `url()` for a tile's sprite (already an absolute URL; quotes and backslashes escaped all the same). */
export function cssUrl(url: string): string {
  return `url("${url.replace(/["\\\n\r\f]/g, (c) => `\\${c.charCodeAt(0).toString(16)} `)}")`;
}

/**
 * Fetches and parses the storyboard at `url` (resolved against `pageUrl`); none when the URL is not of
 * the page's own origin, or the file cannot be had. Never throws.
 */
export async function loadStoryboard(
  url: string,
  pageUrl: string,
  fetchFn: typeof fetch = fetch,
  signal?: AbortSignal,
): Promise<StoryboardTile[]> {
  const origin = new URL(pageUrl).origin;
  const vttUrl = sameOriginUrl(url, pageUrl, origin);
  if (!vttUrl) return [];
  try {
    const res = await fetchFn(vttUrl, { credentials: 'same-origin', signal });
    if (!res.ok) return [];
    return parseStoryboard(await res.text(), vttUrl, origin);
  } catch {
    return [];
  }
}

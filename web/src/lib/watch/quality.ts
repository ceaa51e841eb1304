// The quality menu: "Auto" and each rendition (hls.js level) of the stream, labelled the way people
// know them ("720p"). Only offered when hls.js plays the stream and there is a choice to make: with the
// browser's own HLS (Safari, iOS) the browser picks, and there is no menu.

/** What the menu needs of a level (hls.js's `Level` has these). */
export interface LevelInfo {
  width?: number;
  height?: number;
  /** Bits per second (the playlist's BANDWIDTH). */
  bitrate?: number;
}

export interface QualityOption {
  /** The level's index in hls.js's list, or `AUTO`. */
  value: number;
  label: string;
}

/** hls.js's value for automatic level selection. */
export const AUTO = -1;

function mbps(bitrate: number): string {
  return bitrate >= 1_000_000 ? `${Math.round(bitrate / 100_000) / 10} Mbps` : `${Math.round(bitrate / 1000)} kbps`;
}

/**
 * `720p`: the picture's short side, as for the share page's "720p" (a portrait 720×1280 video is
 * 720p, as everywhere else). Without a size, its bitrate; without either, its place in the list.
 */
export function levelLabel(level: LevelInfo, index: number): string {
  const w = level.width ?? 0;
  const h = level.height ?? 0;
  const short = w > 0 && h > 0 ? Math.min(w, h) : h > 0 ? h : 0;
  if (short > 0) return `${short}p`;
  if (level.bitrate && level.bitrate > 0) return mbps(level.bitrate);
  return `Quality ${index + 1}`;
}

/** A menu to show: hls.js is in use and the stream has more than one level. */
export function hasQualityChoice(levels: readonly LevelInfo[], hlsJs: boolean): boolean {
  return hlsJs && levels.length > 1;
}

/**
 * "Auto" first, then the levels from the best down (by size, then bitrate). Two levels of one size
 * are told apart by their bitrates.
 */
export function qualityOptions(levels: readonly LevelInfo[], playing = AUTO): QualityOption[] {
  const labelled = levels.map((level, index) => ({ index, level, label: levelLabel(level, index) }));
  const count = new Map<string, number>();
  for (const l of labelled) count.set(l.label, (count.get(l.label) ?? 0) + 1);
  const size = (l: LevelInfo) => Math.min(l.width || Infinity, l.height || Infinity);
  labelled.sort((a, b) => {
    const sa = size(a.level) === Infinity ? 0 : size(a.level);
    const sb = size(b.level) === Infinity ? 0 : size(b.level);
    return sb - sa || (b.level.bitrate ?? 0) - (a.level.bitrate ?? 0) || a.index - b.index;
  });
  return [
    { value: AUTO, label: autoLabel(levels, playing) },
    ...labelled.map((l) => ({
      value: l.index,
      label: (count.get(l.label) ?? 0) > 1 && l.level.bitrate ? `${l.label} · ${mbps(l.level.bitrate)}` : l.label,
    })),
  ];
}

/** What the quality button says: the chosen level, or `Auto`. */
export function qualityText(levels: readonly LevelInfo[], selected: number): string {
  return selected !== AUTO && levels[selected] ? levelLabel(levels[selected], selected) : 'Auto';
}

/** The menu's first entry, with the level automatic selection plays now when known: `Auto (720p)`. */
export function autoLabel(levels: readonly LevelInfo[], playing: number): string {
  return playing >= 0 && levels[playing] ? `Auto (${levelLabel(levels[playing], playing)})` : 'Auto';
}

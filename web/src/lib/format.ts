// Plain-language formatting of durations, sizes, speeds and dates.

/** A media duration as `m:ss` (`mm:ss` from 10 minutes, `h:mm:ss` from an hour). Unknown → `--:--`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${ss}`;
  return `${m}:${ss}`;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** A byte count in 1024-based units, labelled the familiar way: `0 B`, `950 B`, `1.5 MB`, `12 MB`, `1 GB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const rounded = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  // 999.6 KB rounds to 1000 KB: show it as the next unit instead.
  if (rounded >= 1000 && unit < UNITS.length - 1) return `${Math.round((rounded / 1024) * 10) / 10} ${UNITS[unit + 1]}`;
  return `${rounded} ${UNITS[unit]}`;
}

/**
 * A size that is over a limit, precise enough not to read as the limit itself: a 1.08 GB file against a
 * 1 GB limit is `1.08 GB`, not `1 GB` (nor `1.1 GB`). Three significant digits, as file managers show
 * sizes, more when those still read as the limit, and `just over 1 GB` when even six do.
 */
export function formatBytesOver(bytes: number, limit: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  const limitText = formatBytes(limit);
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return formatBytes(bytes);
  const whole = Math.max(1, Math.floor(Math.log10(value)) + 1);
  for (let digits = 3; digits <= 6; digits++) {
    const number = Number(value.toFixed(Math.max(0, digits - whole)));
    // 999.7 KB would read 1000 KB: the familiar form (1 MB) is right there.
    if (number >= 1000) return formatBytes(bytes);
    const text = `${number} ${UNITS[unit]}`;
    if (text !== limitText) return text;
  }
  return `just over ${limitText}`;
}

/** A transfer speed: `850 KB/s`, `2.4 MB/s`. Unknown → empty string. */
export function formatSpeed(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond == null || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Time left, in words: `a few seconds left`, `12 s left`, `3 min left`, `1 h 5 min left`. Unknown → empty. */
export function formatTimeLeft(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 5) return 'a few seconds left';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s left`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min left`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h left` : `${h} h ${m} min left`;
}

/** A 0..1 fraction as a whole percent, clamped: 0.404 → 40. */
export function toPercent(fraction: number | null | undefined): number {
  if (fraction == null || !Number.isFinite(fraction)) return 0;
  return Math.min(100, Math.max(0, Math.floor(fraction * 100)));
}

/** A whole percent for reading: `43 %`. */
export function formatPercent(percent: number): string {
  return `${percent} %`;
}

/** Bytes received out of a total, as a whole percent (0 when the total is unknown). */
export function receivedPercent(received: number | null | undefined, total: number | null | undefined): number {
  if (received == null || total == null || !(total > 0)) return 0;
  return toPercent(received / total);
}

/**
 * A title cut where a line may also break: after the `_`, `.`, `-` and `/` that file names use instead
 * of spaces (`IMG_2026_holiday` → `IMG_`, `2026_`, `holiday`), so that a long file name wraps between its
 * words, not inside one (the parts are joined with `<wbr>`).
 */
export function wrapPoints(text: string): string[] {
  return text.split(/(?<=[_.\-/])(?=[^_.\-/\s])/);
}

/** A list in words: `MP4, MOV, MKV or WebM`. */
export function formatExtensions(extensions: readonly string[]): string {
  const names = extensions.map((e) => {
    const bare = e.replace(/^\./, '');
    return bare.toLowerCase() === 'webm' ? 'WebM' : bare.toUpperCase();
  });
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** A date for lists: `24 Nov 2026, 08:00` in the reader's locale. */
export function formatDate(iso: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(locale, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

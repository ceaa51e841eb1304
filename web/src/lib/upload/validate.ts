// The checks made before a byte is sent, against `GET /api/config`. The server checks again.

import type { PublicConfig } from '../api';
import { formatBytes, formatExtensions } from '../format';

export type Limits = Pick<PublicConfig, 'maxUploadBytes' | 'allowedExtensions'>;

export type ValidationProblem =
  | { code: 'empty'; message: string }
  | { code: 'too_large'; message: string }
  | { code: 'extension'; message: string };

/** The lower-case extension of a file name without the dot (`Clip.MP4` → `mp4`), or '' when it has none. */
export function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  if (dot <= 0 || dot === base.length - 1) return '';
  return base.slice(dot + 1).toLowerCase();
}

function normalised(extensions: readonly string[]): string[] {
  return extensions.map((e) => e.trim().replace(/^\./, '').toLowerCase()).filter(Boolean);
}

/** The `accept` attribute for the file input: `.mp4,.mov,…`. */
export function acceptAttribute(limits: Limits | null): string {
  if (!limits || limits.allowedExtensions.length === 0) return 'video/*';
  return normalised(limits.allowedExtensions)
    .map((e) => '.' + e)
    .join(',');
}

/** What is wrong with a file, in words for a person, or `null` when it may be sent. */
export function validateFile(file: { name: string; size: number }, limits: Limits | null): ValidationProblem | null {
  if (limits) {
    const allowed = normalised(limits.allowedExtensions);
    const ext = extensionOf(file.name);
    if (allowed.length > 0 && !allowed.includes(ext)) {
      const what = ext ? `“.${ext}” files` : 'Files without an extension';
      return {
        code: 'extension',
        message: `${what} can't be uploaded. Choose a video in ${formatExtensions(allowed)} format.`,
      };
    }
  }
  if (file.size === 0) {
    return { code: 'empty', message: `“${file.name}” is empty (0 bytes). Choose another file.` };
  }
  if (limits && limits.maxUploadBytes > 0 && file.size > limits.maxUploadBytes) {
    return {
      code: 'too_large',
      message: `“${file.name}” is ${formatBytes(file.size)}; the limit is ${formatBytes(limits.maxUploadBytes)}. Choose a smaller file.`,
    };
  }
  return null;
}

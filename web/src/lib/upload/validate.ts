// The checks made before a byte is sent, against `GET /api/config`. The server checks again.

import type { PublicConfig } from '../api';
import { formatBytes, formatBytesOver, formatExtensions } from '../format';

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

/**
 * The MIME types browsers give the containers Flick takes, by extension. Chromium says `video/matroska`
 * for .mkv where others say `video/x-matroska`; the first type of each list is the one we send when the
 * browser gave none (or only `application/octet-stream`).
 */
export const VIDEO_TYPES: Readonly<Record<string, readonly string[]>> = {
  mp4: ['video/mp4'],
  m4v: ['video/x-m4v', 'video/mp4'],
  mov: ['video/quicktime'],
  mkv: ['video/x-matroska', 'video/matroska'],
  webm: ['video/webm'],
};

/** MIME types that say nothing about the content: the extension decides. */
const UNINFORMATIVE_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/**
 * The `accept` attribute for the file input: `.mp4,.mov,…` and the matching MIME types (mobile
 * pickers offer the photo library from the types; desktop pickers filter by the extensions).
 */
export function acceptAttribute(limits: Limits | null): string {
  if (!limits || limits.allowedExtensions.length === 0) return 'video/*';
  const extensions = normalised(limits.allowedExtensions);
  const types = extensions.flatMap((e) => VIDEO_TYPES[e] ?? []);
  return [...extensions.map((e) => '.' + e), ...new Set(types)].join(',');
}

/**
 * The type to declare for an upload (tus `filetype`): the browser's own when it names a video
 * container we know, else the usual one for the extension, else none (the server judges the bytes).
 * Empty or `application/octet-stream` types are common (drag and drop, some Android pickers).
 */
export function uploadTypeOf(file: { name: string; type?: string }): string | null {
  const type = (file.type ?? '').trim().toLowerCase();
  const known = Object.values(VIDEO_TYPES).some((list) => list.includes(type));
  if (known) return type;
  if (!UNINFORMATIVE_TYPES.has(type) && type.startsWith('video/')) return type;
  return VIDEO_TYPES[extensionOf(file.name)]?.[0] ?? null;
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
      message: `“${file.name}” is ${formatBytesOver(file.size, limits.maxUploadBytes)}; the limit is ${formatBytes(limits.maxUploadBytes)}. Choose a smaller file.`,
    };
  }
  return null;
}

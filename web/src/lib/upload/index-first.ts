// Index-first uploads (a Flick extension of tus, `Flick-Index-Offset`).
//
// Most phone and camera MP4/MOV files keep their index (the `moov` box) at the END, after the media
// (`mdat`): nothing can be played until the index has arrived, i.e. until the whole upload is over.
// When the index is small enough, the client sends the file's tail (from the `moov` box to the end)
// first and then its head (0..M); the server stores the file byte-identical to the original and can
// start playing it as soon as the first seconds of media are in.
//
// Planning only reads box headers (16 bytes at a time) from the start of the file; it never reads
// the media itself.

/** What planning needs of a File (or a Blob in tests). */
export interface SliceableBlob {
  readonly size: number;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** Top-level boxes walked at most before giving up (real files have a handful). */
export const MAX_BOXES = 64;
/** Read per box header: 32-bit size + type, then a 64-bit size when the first is 1. */
const HEADER_READ = 16;

export interface Box {
  type: string;
  start: number;
  /** Total size, header included. */
  size: number;
}

/** A 4-character box type made of printable ASCII, else null (not ISO BMFF). */
function boxType(bytes: DataView): string | null {
  let type = '';
  for (let i = 4; i < 8; i++) {
    const c = bytes.getUint8(i);
    if (c < 0x20 || c > 0x7e) return null;
    type += String.fromCharCode(c);
  }
  return type;
}

/**
 * The box that starts at `offset`, or null when the bytes there are not a well-formed box header
 * inside a file of `fileSize` bytes (too short, a size smaller than its header, running past the end).
 */
export function parseBoxHeader(bytes: ArrayBuffer, offset: number, fileSize: number): Box | null {
  if (bytes.byteLength < 8) return null;
  const view = new DataView(bytes);
  const type = boxType(view);
  if (type === null) return null;
  const size32 = view.getUint32(0);
  let size: number;
  let header = 8;
  if (size32 === 1) {
    if (bytes.byteLength < 16) return null;
    const hi = view.getUint32(8);
    const lo = view.getUint32(12);
    // Beyond 2^53 bytes nothing is real: refuse rather than lose precision.
    if (hi >= 0x200000) return null;
    size = hi * 0x1_0000_0000 + lo;
    header = 16;
  } else if (size32 === 0) {
    size = fileSize - offset; // runs to the end of the file
  } else {
    size = size32;
  }
  if (size < header || offset + size > fileSize) return null;
  return { type, start: offset, size };
}

/**
 * The offset M of the `moov` box to send first, or null to upload the file as it is: when the file
 * is not ISO BMFF (its top-level boxes cannot be walked from 0), when its index already comes before
 * the media (nothing to gain), when there is no index, when the file is truncated, or when the index
 * and what follows it exceed `maxIndexBytes` (absent or not positive: the server does not offer it).
 */
export async function planIndexFirst(file: SliceableBlob, maxIndexBytes: number | null | undefined): Promise<number | null> {
  if (maxIndexBytes == null || !Number.isFinite(maxIndexBytes) || maxIndexBytes <= 0) return null;
  const size = file.size;
  let offset = 0;
  let sawMdat = false;
  for (let n = 0; n < MAX_BOXES && offset < size; n++) {
    let bytes: ArrayBuffer;
    try {
      bytes = await file.slice(offset, Math.min(size, offset + HEADER_READ)).arrayBuffer();
    } catch {
      return null; // unreadable (the file changed or went away): let the plain upload report it
    }
    const box = parseBoxHeader(bytes, offset, size);
    if (!box) return null;
    if (box.type === 'moov') {
      if (!sawMdat) return null; // index first already (fast start), or no media before it
      return size - box.start <= maxIndexBytes ? box.start : null;
    }
    if (box.type === 'mdat') sawMdat = true;
    offset += box.size;
  }
  return null;
}

/** The bytes to upload for an index-first plan: the tail from `offset` (the `moov` box on), then the head. */
export function reorderForIndexFirst(file: Blob, offset: number): Blob {
  return new Blob([file.slice(offset), file.slice(0, offset)], { type: file.type });
}

import { describe, expect, it, vi } from 'vitest';
import { MAX_BOXES, parseBoxHeader, planIndexFirst, reorderForIndexFirst, type SliceableBlob } from './index-first';

/** A box: 32-bit big-endian size + type + payload (`size` overrides the written size field). */
function box(type: string, payloadBytes: number, size?: number): Uint8Array {
  const out = new Uint8Array(8 + payloadBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, size ?? out.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.fill(0xab, 8);
  return out;
}

/** A box with a 64-bit size (size field 1, then the real size after the type). */
function box64(type: string, payloadBytes: number): Uint8Array {
  const out = new Uint8Array(16 + payloadBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  view.setUint32(8, 0);
  view.setUint32(12, out.length);
  return out;
}

const blob = (...parts: Uint8Array[]) => new Blob(parts as BlobPart[]);
const MAX = 1000;

describe('planIndexFirst', () => {
  it('moves an index at the end (ftyp, mdat, moov) to the front', async () => {
    const ftyp = box('ftyp', 24);
    const mdat = box('mdat', 5000);
    const moov = box('moov', 300);
    const file = blob(ftyp, mdat, moov);
    expect(await planIndexFirst(file, MAX)).toBe(ftyp.length + mdat.length);
  });

  it('sends whatever follows the index with it (moov, then udta/free up to the end)', async () => {
    const file = blob(box('ftyp', 16), box('wide', 0), box('mdat', 4000), box('moov', 200), box('free', 50));
    const m = await planIndexFirst(file, MAX);
    expect(m).toBe(24 + 8 + 4008);
    // …but only while the whole tail fits.
    expect(await planIndexFirst(file, 208 + 58 - 1)).toBeNull();
    expect(await planIndexFirst(file, 208 + 58)).toBe(m);
  });

  it('does nothing when the index already comes first (fast start, fragmented MP4)', async () => {
    expect(await planIndexFirst(blob(box('ftyp', 16), box('moov', 300), box('mdat', 5000)), MAX)).toBeNull();
    expect(await planIndexFirst(blob(box('ftyp', 16), box('moov', 300), box('moof', 40), box('mdat', 500), box('moof', 40), box('mdat', 500)), MAX)).toBeNull();
  });

  it('walks a 64-bit mdat size', async () => {
    const ftyp = box('ftyp', 16);
    const mdat = box64('mdat', 3000);
    const file = blob(ftyp, mdat, box('moov', 100));
    expect(await planIndexFirst(file, MAX)).toBe(ftyp.length + mdat.length);
  });

  it('takes a moov whose size is 0 (runs to the end of the file)', async () => {
    const ftyp = box('ftyp', 16);
    const mdat = box('mdat', 2000);
    expect(await planIndexFirst(blob(ftyp, mdat, box('moov', 100, 0)), MAX)).toBe(ftyp.length + mdat.length);
  });

  it('an mdat of size 0 runs to the end: there is no index after it', async () => {
    expect(await planIndexFirst(blob(box('ftyp', 16), box('mdat', 2000, 0)), MAX)).toBeNull();
  });

  it('leaves files that are not ISO BMFF alone (Matroska/WebM, text)', async () => {
    const ebml = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01, 0x42, 0xf2, 0x81, ...new Array(4000).fill(0)]);
    expect(await planIndexFirst(blob(ebml), MAX)).toBeNull();
    expect(await planIndexFirst(new Blob(['hello, this is not a video at all, just text']), MAX)).toBeNull();
  });

  it('gives up on a truncated file (a box running past the end, or a header cut short)', async () => {
    const mdat = box('mdat', 5000);
    expect(await planIndexFirst(blob(box('ftyp', 16), mdat.slice(0, 3000)), MAX)).toBeNull();
    const moov = box('moov', 100);
    expect(await planIndexFirst(blob(box('ftyp', 16), mdat, moov.slice(0, 60)), MAX)).toBeNull();
    expect(await planIndexFirst(blob(box('ftyp', 16), mdat, moov.slice(0, 5)), MAX)).toBeNull();
  });

  it('refuses a box smaller than its own header', async () => {
    expect(await planIndexFirst(blob(box('ftyp', 16), box('mdat', 100, 4), box('moov', 10)), MAX)).toBeNull();
  });

  it('refuses when the index is too big for the server', async () => {
    const file = blob(box('ftyp', 16), box('mdat', 5000), box('moov', 2000));
    expect(await planIndexFirst(file, 2007)).toBeNull();
    expect(await planIndexFirst(file, 2008)).toBe(24 + 5008);
  });

  it('does nothing when the server does not offer it', async () => {
    const file = blob(box('ftyp', 16), box('mdat', 5000), box('moov', 100));
    expect(await planIndexFirst(file, undefined)).toBeNull();
    expect(await planIndexFirst(file, null)).toBeNull();
    expect(await planIndexFirst(file, 0)).toBeNull();
  });

  it('reads only 16-byte box headers, and at most MAX_BOXES of them', async () => {
    const parts = [box('ftyp', 16), box('mdat', 10)];
    for (let i = 0; i < MAX_BOXES + 5; i++) parts.push(box('free', 4));
    parts.push(box('moov', 50));
    const file = blob(...parts);
    const slices: Array<[number, number]> = [];
    const spy: SliceableBlob = {
      size: file.size,
      slice: (a, b) => {
        slices.push([a, b]);
        return file.slice(a, b);
      },
    };
    expect(await planIndexFirst(spy, MAX)).toBeNull();
    expect(slices.length).toBe(MAX_BOXES);
    expect(slices.every(([a, b]) => b - a <= 16)).toBe(true);
  });

  it('treats an unreadable file as a plain upload', async () => {
    const broken: SliceableBlob = { size: 100, slice: () => ({ arrayBuffer: vi.fn(async () => Promise.reject(new Error('NotReadableError'))) }) };
    expect(await planIndexFirst(broken, MAX)).toBeNull();
  });
});

describe('parseBoxHeader', () => {
  it('reads 32- and 64-bit sizes and printable types only', () => {
    expect(parseBoxHeader(box('ftyp', 8).buffer as ArrayBuffer, 0, 100)).toEqual({ type: 'ftyp', start: 0, size: 16 });
    expect(parseBoxHeader(box64('mdat', 0).buffer as ArrayBuffer, 10, 100)).toEqual({ type: 'mdat', start: 10, size: 16 });
    expect(parseBoxHeader(new Uint8Array([0, 0, 0, 16, 0x00, 0x61, 0x62, 0x63]).buffer, 0, 100)).toBeNull();
  });
});

describe('reorderForIndexFirst', () => {
  it('puts the tail first and keeps every byte', async () => {
    const bytes = new Uint8Array(100).map((_, i) => i);
    const out = new Uint8Array(await reorderForIndexFirst(new Blob([bytes]), 70).arrayBuffer());
    expect(out.length).toBe(100);
    expect([...out.slice(0, 30)]).toEqual([...bytes.slice(70)]);
    expect([...out.slice(30)]).toEqual([...bytes.slice(0, 70)]);
  });
});

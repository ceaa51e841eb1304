import { describe, expect, it } from 'vitest';
import { acceptAttribute, extensionOf, uploadTypeOf, validateFile } from './validate';

const limits = { maxUploadBytes: 1073741824, allowedExtensions: ['mp4', 'mov', 'mkv', 'webm'] };

describe('extensionOf', () => {
  it('takes the last extension, lower-cased', () => {
    expect(extensionOf('clip.mp4')).toBe('mp4');
    expect(extensionOf('Holiday.Final.MOV')).toBe('mov');
    expect(extensionOf('C:\\videos\\a.webm')).toBe('webm');
  });
  it('has none for dotfiles, trailing dots and bare names', () => {
    expect(extensionOf('.mp4')).toBe('');
    expect(extensionOf('clip.')).toBe('');
    expect(extensionOf('clip')).toBe('');
  });
});

describe('validateFile', () => {
  it('accepts allowed videos within the limit, whatever the case', () => {
    expect(validateFile({ name: 'a.mp4', size: 10 }, limits)).toBeNull();
    expect(validateFile({ name: 'B.MKV', size: limits.maxUploadBytes }, limits)).toBeNull();
    expect(validateFile({ name: 'c.webm', size: 1 }, { ...limits, allowedExtensions: ['.WEBM'] })).toBeNull();
  });

  it('refuses other extensions and says which ones are welcome', () => {
    const p = validateFile({ name: 'notes.txt', size: 12 }, limits);
    expect(p?.code).toBe('extension');
    expect(p?.message).toContain('“.txt” files can\'t be uploaded');
    expect(p?.message).toContain('MP4, MOV, MKV or WebM');
  });

  it('refuses a file without an extension', () => {
    const p = validateFile({ name: 'video', size: 12 }, limits);
    expect(p?.code).toBe('extension');
    expect(p?.message).toMatch(/^Files without an extension/);
  });

  it('refuses an empty file', () => {
    const p = validateFile({ name: 'a.mp4', size: 0 }, limits);
    expect(p).toEqual({ code: 'empty', message: '“a.mp4” is empty (0 bytes). Choose another file.' });
  });

  it('refuses a file over the limit, with both sizes', () => {
    const p = validateFile({ name: 'big.mov', size: limits.maxUploadBytes + 1 }, limits);
    expect(p?.code).toBe('too_large');
    expect(p?.message).toContain('the limit is 1 GB');
    expect(p?.message).not.toContain('is 1 GB;');
  });

  it('says how much over the limit a file is, not a size that reads as the limit', () => {
    const p = validateFile({ name: 'big.mov', size: Math.round(1.08 * 1024 ** 3) }, limits);
    expect(p?.message).toBe('“big.mov” is 1.08 GB; the limit is 1 GB. Choose a smaller file.');
  });

  it('reports the extension before the size (the more useful sentence)', () => {
    expect(validateFile({ name: 'x.txt', size: 0 }, limits)?.code).toBe('extension');
  });

  it('still refuses empty files when the limits are unknown, and lets the server judge the rest', () => {
    expect(validateFile({ name: 'x.txt', size: 10 }, null)).toBeNull();
    expect(validateFile({ name: 'x.mp4', size: 0 }, null)?.code).toBe('empty');
  });

  it('treats a limit of 0 or an empty list as no limit', () => {
    expect(validateFile({ name: 'x.avi', size: 10 ** 12 }, { maxUploadBytes: 0, allowedExtensions: [] })).toBeNull();
  });
});

describe('acceptAttribute', () => {
  it('lists the extensions and their MIME types for the file picker', () => {
    expect(acceptAttribute(limits)).toBe('.mp4,.mov,.mkv,.webm,video/mp4,video/quicktime,video/x-matroska,video/matroska,video/webm');
    expect(acceptAttribute({ ...limits, allowedExtensions: ['.MP4', 'avi'] })).toBe('.mp4,.avi,video/mp4');
    expect(acceptAttribute(null)).toBe('video/*');
  });
});

describe('the four containers, whatever type the browser reports', () => {
  const cases: Array<[string, string]> = [
    ['clip.mp4', 'video/mp4'],
    ['clip.mov', 'video/quicktime'],
    ['clip.mkv', 'video/matroska'], // Chromium
    ['clip.mkv', 'video/x-matroska'], // Firefox, Safari
    ['clip.webm', 'video/webm'],
    ['clip.mkv', ''],
    ['clip.mov', 'application/octet-stream'],
  ];
  for (const [name, type] of cases) {
    it(`accepts ${name} sent as “${type}”`, () => {
      const file = new File([new Uint8Array(4)], name, { type });
      expect(validateFile(file, limits)).toBeNull();
      expect(uploadTypeOf(file)).toMatch(/^video\//);
    });
  }

  it('declares the browser type when it names a container, else the usual one for the extension', () => {
    expect(uploadTypeOf({ name: 'a.mkv', type: 'video/matroska' })).toBe('video/matroska');
    expect(uploadTypeOf({ name: 'a.mkv', type: 'Video/X-Matroska' })).toBe('video/x-matroska');
    expect(uploadTypeOf({ name: 'a.mkv', type: '' })).toBe('video/x-matroska');
    expect(uploadTypeOf({ name: 'a.MOV', type: 'application/octet-stream' })).toBe('video/quicktime');
    expect(uploadTypeOf({ name: 'a.webm', type: 'text/plain' })).toBe('video/webm');
    expect(uploadTypeOf({ name: 'a', type: '' })).toBeNull();
  });

  it('still refuses other extensions, even with a video type', () => {
    expect(validateFile(new File([new Uint8Array(4)], 'clip.avi', { type: 'video/x-msvideo' }), limits)?.code).toBe('extension');
  });
});

import { describe, expect, it, vi } from 'vitest';
import { cssUrl, loadStoryboard, MAX_TILES, parseStoryboard, parseTimestamp, parseTileRef, tileAt } from './storyboard';

const ORIGIN = 'https://flick.example';
const VTT_URL = `${ORIGIN}/streams/abc/storyboard.vtt`;
const SPRITE = `${ORIGIN}/streams/abc/storyboard-000.jpg`;

const parse = (text: string) => parseStoryboard(text, VTT_URL, ORIGIN);

describe('parseTimestamp', () => {
  it('reads hh:mm:ss.ttt and mm:ss.ttt', () => {
    expect(parseTimestamp('00:00:05.000')).toBe(5);
    expect(parseTimestamp('01:02:03.500')).toBe(3723.5);
    expect(parseTimestamp('02:03.250')).toBe(123.25);
    expect(parseTimestamp('100:00:00.000')).toBe(360_000);
  });
  it('refuses anything else', () => {
    for (const t of ['', '5', '0:5.000', '00:60:00.000', '00:00:60.000', '00:00:05', '00:00:05,000', '-00:00:05.000', '00:00:05.0000', 'NaN', '1e3'])
      expect(parseTimestamp(t), t).toBeNull();
  });
});

describe('parseStoryboard', () => {
  it('reads the cues of a storyboard, their sprite resolved against the file', () => {
    const tiles = parse(
      [
        'WEBVTT',
        '',
        '00:00:00.000 --> 00:00:05.000',
        'storyboard-000.jpg#xywh=0,0,160,90',
        '',
        '00:00:05.000 --> 00:00:10.000',
        'storyboard-000.jpg#xywh=160,0,160,90',
        '',
        '1',
        '00:00:10.000 --> 00:00:15.000 align:start',
        'sub/storyboard-001.jpg#xywh=pixel:0,90,160,90',
        '',
      ].join('\n'),
    );
    expect(tiles).toEqual([
      { start: 0, end: 5, url: SPRITE, x: 0, y: 0, w: 160, h: 90 },
      { start: 5, end: 10, url: SPRITE, x: 160, y: 0, w: 160, h: 90 },
      { start: 10, end: 15, url: `${ORIGIN}/streams/abc/sub/storyboard-001.jpg`, x: 0, y: 90, w: 160, h: 90 },
    ]);
  });

  it('takes CRLF, a byte-order mark, a header text, notes and styles', () => {
    const tiles = parse('\uFEFFWEBVTT - storyboard\r\n\r\nNOTE made by flick\r\n\r\nSTYLE\r\n::cue { color: red }\r\n\r\n00:05.000 --> 00:10.000\r\nstoryboard-000.jpg#xywh=0,0,160,90\r\n');
    expect(tiles).toHaveLength(1);
    expect(tiles[0]).toMatchObject({ start: 5, end: 10, url: SPRITE });
  });

  it('is nothing without the WEBVTT header', () => {
    expect(parse('00:00:00.000 --> 00:00:05.000\nstoryboard-000.jpg#xywh=0,0,160,90\n')).toEqual([]);
    expect(parse('WEBVTTX\n\n00:00:00.000 --> 00:00:05.000\nstoryboard-000.jpg#xywh=0,0,160,90\n')).toEqual([]);
    expect(parse('<html>not found</html>')).toEqual([]);
    expect(parse('')).toEqual([]);
    expect(parseStoryboard(null as unknown as string, VTT_URL, ORIGIN)).toEqual([]);
  });

  it('skips the cues that do not parse, and keeps the others', () => {
    const good = '00:00:20.000 --> 00:00:25.000\nstoryboard-000.jpg#xywh=0,0,160,90';
    const bad = [
      '00:00:05.000 --> 00:00:05.000\nstoryboard-000.jpg#xywh=0,0,160,90', // empty span
      '00:00:10.000 --> 00:00:05.000\nstoryboard-000.jpg#xywh=0,0,160,90', // backwards
      'garbage --> 00:00:05.000\nstoryboard-000.jpg#xywh=0,0,160,90',
      '00:00:05.000 -> 00:00:10.000\nstoryboard-000.jpg#xywh=0,0,160,90',
      '00:00:05.000 --> 00:00:10.000', // no payload
      '00:00:05.000 --> 00:00:10.000\nstoryboard-000.jpg', // no rectangle
      '00:00:05.000 --> 00:00:10.000\nstoryboard-000.jpg#xywh=0,0,0,90', // empty tile
      '00:00:05.000 --> 00:00:10.000\nstoryboard-000.jpg#xywh=0,0,160', // three numbers
      '00:00:05.000 --> 00:00:10.000\nstoryboard-000.jpg#xywh=percent:0,0,50,50',
      '00:00:05.000 --> 00:00:10.000\nstoryboard-000.jpg#xywh=-1,0,160,90',
      '00:00:05.000 --> 00:00:10.000\nstoryboard-000.jpg#xywh=0,0,5000,90', // huge
      '00:00:05.000 --> 00:00:10.000\nstoryboard-000.jpg#xywh=0.5,0,160,90',
      '00:00:05.000 --> 00:00:10.000\n#xywh=0,0,160,90', // no image
      'just some words\nand more',
    ];
    const tiles = parse(['WEBVTT', '', ...bad.flatMap((b) => [b, '']), good, ''].join('\n'));
    expect(tiles).toEqual([{ start: 20, end: 25, url: SPRITE, x: 0, y: 0, w: 160, h: 90 }]);
  });

  it('accepts images of the page’s own origin only', () => {
    const cue = (uri: string) => parse(`WEBVTT\n\n00:00:00.000 --> 00:00:05.000\n${uri}#xywh=0,0,160,90\n`).map((t) => t.url);
    expect(cue('storyboard-000.jpg')).toEqual([SPRITE]);
    expect(cue('../abc/storyboard-000.jpg')).toEqual([SPRITE]);
    expect(cue('/streams/abc/storyboard-000.jpg')).toEqual([SPRITE]);
    expect(cue(`${ORIGIN}/streams/abc/storyboard-000.jpg`)).toEqual([SPRITE]);
    for (const hostile of [
      'https://evil.example/x.jpg',
      '//evil.example/x.jpg',
      'http://flick.example/x.jpg', // another scheme is another origin
      'https://flick.example:8443/x.jpg',
      'https://user:pw@flick.example/x.jpg',
      'javascript:alert(1)',
      'data:image/png;base64,iVBORw0KGgo=',
      'blob:https://flick.example/1234',
      'file:///etc/passwd',
    ])
      expect(cue(hostile), hostile).toEqual([]);
  });

  it('never lets markup or CSS through', () => {
    const cue = (uri: string) => parse(`WEBVTT\n\n00:00:00.000 --> 00:00:05.000\n${uri}\n`);
    for (const hostile of [
      '<img src=x onerror=alert(1)>#xywh=0,0,160,90',
      'a.jpg");background:url(https://evil.example/#xywh=0,0,160,90',
      "a.jpg')#xywh=0,0,160,90",
      'a\\.jpg#xywh=0,0,160,90',
      'a.jpg#xywh=0,0,160,90<script>',
      'a.jpg #xywh=0,0,160,90',
      'a.jpg#xywh=0,0,160,90#x',
    ])
      expect(cue(hostile), hostile).toEqual([]);
    // A URL-safe character that CSS would care about still comes out escaped or encoded.
    const [tile] = cue('a(1).jpg#xywh=0,0,160,90');
    expect(cssUrl(tile.url)).toBe(`url("${ORIGIN}/streams/abc/a(1).jpg")`);
    expect(cssUrl('https://x/"a\\b')).toBe('url("https://x/\\22 a\\5c b")');
  });

  it('is in time order, and stops at a sane number of tiles', () => {
    const tiles = parse('WEBVTT\n\n00:00:10.000 --> 00:00:20.000\na.jpg#xywh=0,0,1,1\n\n00:00:00.000 --> 00:00:10.000\nb.jpg#xywh=0,0,1,1\n');
    expect(tiles.map((t) => t.start)).toEqual([0, 10]);
    const many = ['WEBVTT', ''];
    const ts = (s: number) => [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, '0')).join(':') + '.000';
    for (let i = 0; i < MAX_TILES + 10; i++) many.push(`${ts(i)} --> ${ts(i + 1)}`, 'a.jpg#xywh=0,0,1,1', '');
    expect(parse(many.join('\n'))).toHaveLength(MAX_TILES);
  });

  it('reads a large hostile file quickly', () => {
    const junk = 'WEBVTT\n\n' + '-->'.repeat(200_000) + '\n' + ('x'.repeat(5000) + '\n').repeat(200);
    const t0 = performance.now();
    expect(parse(junk)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('parseTileRef', () => {
  it('reads the rectangle, with or without the pixel: unit', () => {
    expect(parseTileRef('s.jpg#xywh=1,2,3,4', VTT_URL, ORIGIN)).toEqual({ url: `${ORIGIN}/streams/abc/s.jpg`, x: 1, y: 2, w: 3, h: 4 });
    expect(parseTileRef('s.jpg#xywh=pixel:1,2,3,4', VTT_URL, ORIGIN)).toMatchObject({ x: 1, y: 2, w: 3, h: 4 });
  });
});

describe('tileAt', () => {
  const tiles = parse(
    'WEBVTT\n\n00:00:00.000 --> 00:00:05.000\na.jpg#xywh=0,0,160,90\n\n00:00:05.000 --> 00:00:10.000\na.jpg#xywh=160,0,160,90\n\n00:00:20.000 --> 00:00:25.000\na.jpg#xywh=320,0,160,90\n',
  );
  it('finds the tile of a moment', () => {
    expect(tileAt(tiles, 0)?.x).toBe(0);
    expect(tileAt(tiles, 4.999)?.x).toBe(0);
    expect(tileAt(tiles, 5)?.x).toBe(160);
    expect(tileAt(tiles, 9.5)?.x).toBe(160);
    expect(tileAt(tiles, 22)?.x).toBe(320);
  });
  it('includes the very end of the last tile, and nothing in a gap or outside', () => {
    expect(tileAt(tiles, 25)?.x).toBe(320);
    expect(tileAt(tiles, 10)).toBeNull();
    expect(tileAt(tiles, 15)).toBeNull();
    expect(tileAt(tiles, 25.1)).toBeNull();
    expect(tileAt(tiles, -1)).toBeNull();
    expect(tileAt(tiles, Number.NaN)).toBeNull();
    expect(tileAt(tiles, Infinity)).toBeNull();
    expect(tileAt([], 3)).toBeNull();
  });
});

describe('loadStoryboard', () => {
  const PAGE = `${ORIGIN}/v/abc`;
  const body = 'WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nstoryboard-000.jpg#xywh=0,0,160,90\n';

  it('fetches the file of the page’s origin and parses it', async () => {
    const fetchFn = vi.fn(async () => new Response(body));
    const tiles = await loadStoryboard('/streams/abc/storyboard.vtt', PAGE, fetchFn as unknown as typeof fetch);
    expect(fetchFn).toHaveBeenCalledWith(VTT_URL, expect.objectContaining({ credentials: 'same-origin' }));
    expect(tiles).toEqual([{ start: 0, end: 5, url: SPRITE, x: 0, y: 0, w: 160, h: 90 }]);
  });

  it('fetches nothing from elsewhere, and is empty on an error', async () => {
    const fetchFn = vi.fn(async () => new Response(body));
    expect(await loadStoryboard('https://evil.example/s.vtt', PAGE, fetchFn as unknown as typeof fetch)).toEqual([]);
    expect(await loadStoryboard('javascript:alert(1)', PAGE, fetchFn as unknown as typeof fetch)).toEqual([]);
    expect(fetchFn).not.toHaveBeenCalled();
    expect(await loadStoryboard('/s.vtt', PAGE, (async () => new Response('gone', { status: 404 })) as unknown as typeof fetch)).toEqual([]);
    expect(
      await loadStoryboard('/s.vtt', PAGE, (async () => {
        throw new TypeError('network');
      }) as unknown as typeof fetch),
    ).toEqual([]);
  });
});

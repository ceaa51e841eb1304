import { describe, expect, it } from 'vitest';
import { video } from '../test-utils';
import { embedPath, embedSize, embedSnippet, escapeHtml } from './embed';

describe('escapeHtml', () => {
  it('escapes what could end an attribute or start a tag', () => {
    expect(escapeHtml(`Tom & "Jerry's" <script>`)).toBe('Tom &amp; &quot;Jerry&#39;s&quot; &lt;script&gt;');
    expect(escapeHtml('Plage à Nice 🎬')).toBe('Plage à Nice 🎬');
  });
});

describe('embedSize', () => {
  it("follows the video's shape, its longer side 640", () => {
    expect(embedSize(1920, 1080)).toEqual({ width: 640, height: 360 });
    expect(embedSize(1440, 1080)).toEqual({ width: 640, height: 480 });
    expect(embedSize(1080, 1920)).toEqual({ width: 360, height: 640 });
    expect(embedSize(1000, 1000)).toEqual({ width: 640, height: 640 });
    expect(embedSize(3840, 1600)).toEqual({ width: 640, height: 267 });
  });
  it('640 × 360 while the shape is unknown', () => {
    expect(embedSize(null, null)).toEqual({ width: 640, height: 360 });
    expect(embedSize(1920, 0)).toEqual({ width: 640, height: 360 });
    expect(embedSize(undefined, 1080)).toEqual({ width: 640, height: 360 });
  });
});

describe('embedSnippet', () => {
  const id = '603890dc34b540aebcc57525ad97e5ff';

  it('an iframe of the embed page, with the title as its accessible name', () => {
    const v = video({ title: 'Beach day', embedUrl: `/embed/${id}` });
    expect(embedSnippet(v, 'https://flick.example')).toBe(
      `<iframe src="https://flick.example/embed/${id}" width="640" height="360" style="border:0" allow="fullscreen; picture-in-picture" allowfullscreen title="Beach day"></iframe>`,
    );
  });

  it('escapes the title', () => {
    const v = video({ title: `"><script>alert('x')</script>`, embedUrl: `/embed/${id}` });
    const snippet = embedSnippet(v, 'https://flick.example');
    expect(snippet).toContain('title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"></iframe>');
    expect(snippet.match(/<[a-z/]/g)).toEqual(['<i', '</']);
  });

  it('a portrait video gets a portrait frame; no title reads "Video"', () => {
    const v = video({ title: ' ', width: 720, height: 1280, embedUrl: `/embed/${id}` });
    expect(embedSnippet(v, 'http://127.0.0.1:8080')).toBe(
      `<iframe src="http://127.0.0.1:8080/embed/${id}" width="360" height="640" style="border:0" allow="fullscreen; picture-in-picture" allowfullscreen title="Video"></iframe>`,
    );
  });

  it('an absolute embedUrl is kept; without one, /embed/{id}', () => {
    expect(embedSnippet(video({ embedUrl: 'https://cdn.example/embed/x?a=1&b=2' }), 'https://flick.example')).toContain(
      'src="https://cdn.example/embed/x?a=1&amp;b=2"',
    );
    expect(embedPath(video({ id: 'a b', embedUrl: undefined }))).toBe('/embed/a%20b');
  });
});

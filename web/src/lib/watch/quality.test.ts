import { describe, expect, it } from 'vitest';
import { AUTO, autoLabel, hasQualityChoice, levelLabel, qualityOptions, qualityText } from './quality';

const l1080 = { width: 1920, height: 1080, bitrate: 5_000_000 };
const l720 = { width: 1280, height: 720, bitrate: 2_500_000 };
const l360 = { width: 640, height: 360, bitrate: 800_000 };

describe('the quality menu', () => {
  it('is offered only when hls.js plays a stream of several levels', () => {
    expect(hasQualityChoice([l720, l360], true)).toBe(true);
    expect(hasQualityChoice([l720], true)).toBe(false);
    expect(hasQualityChoice([], true)).toBe(false);
    // The browser's own HLS (Safari, iOS) chooses for itself: no menu.
    expect(hasQualityChoice([l720, l360], false)).toBe(false);
  });

  it('labels a level by its height, like 720p (a portrait video by its short side)', () => {
    expect(levelLabel(l720, 0)).toBe('720p');
    expect(levelLabel({ width: 720, height: 1280 }, 0)).toBe('720p');
    expect(levelLabel({ height: 480 }, 0)).toBe('480p');
    expect(levelLabel({ bitrate: 1_250_000 }, 0)).toBe('1.3 Mbps');
    expect(levelLabel({ bitrate: 640_000 }, 0)).toBe('640 kbps');
    expect(levelLabel({}, 2)).toBe('Quality 3');
  });

  it('lists Auto, then every level from the best down, whatever their order in the playlist', () => {
    expect(qualityOptions([l360, l1080, l720])).toEqual([
      { value: AUTO, label: 'Auto' },
      { value: 1, label: '1080p' },
      { value: 2, label: '720p' },
      { value: 0, label: '360p' },
    ]);
  });

  it('tells two levels of one size apart by their bitrates', () => {
    expect(qualityOptions([{ ...l720, bitrate: 1_500_000 }, l720]).map((o) => o.label)).toEqual(['Auto', '720p · 2.5 Mbps', '720p · 1.5 Mbps']);
  });

  it('says which level Auto plays now, and what was chosen', () => {
    const levels = [l1080, l720, l360];
    expect(autoLabel(levels, 1)).toBe('Auto (720p)');
    expect(autoLabel(levels, -1)).toBe('Auto');
    expect(qualityOptions(levels, 2)[0]).toEqual({ value: AUTO, label: 'Auto (360p)' });
    expect(qualityText(levels, AUTO)).toBe('Auto');
    expect(qualityText(levels, 0)).toBe('1080p');
    expect(qualityText(levels, 9)).toBe('Auto');
  });
});

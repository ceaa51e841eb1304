import { describe, expect, it } from 'vitest';
import { canLiftByCss, CSS_LIFT_SELECTOR, cueLifter, liftCues, type LiftableCue, type LiftableTrack } from './cue-lift';

const cue = (line: number | 'auto' = 'auto'): LiftableCue => ({ line, snapToLines: true, lineAlign: 'start' });

describe('canLiftByCss', () => {
  it('asks the browser about the cue box’s pseudo-element', () => {
    expect(canLiftByCss((c) => c === CSS_LIFT_SELECTOR)).toBe(true);
    expect(canLiftByCss(() => false)).toBe(false);
    expect(canLiftByCss(undefined)).toBe(false);
    expect(
      canLiftByCss(() => {
        throw new SyntaxError('unknown');
      }),
    ).toBe(false);
  });
});

describe('liftCues', () => {
  it('puts default cues’ bottom edge above the bar, and back; never touches a placed cue', () => {
    const moved = new WeakSet<LiftableCue>();
    const free = cue();
    const placed = cue(2);
    liftCues([free, placed], 20, moved);
    expect(free).toEqual({ line: 80, snapToLines: false, lineAlign: 'end' });
    expect(placed).toEqual({ line: 2, snapToLines: true, lineAlign: 'start' });
    liftCues([free, placed], 25, moved);
    expect(free.line).toBe(75);
    liftCues([free, placed], 0, moved);
    expect(free).toEqual({ line: 'auto', snapToLines: true, lineAlign: 'start' });
    expect(placed.line).toBe(2);
  });

  it('keeps the lift sane', () => {
    const moved = new WeakSet<LiftableCue>();
    const c = cue();
    liftCues([c], 400, moved);
    expect(c.line).toBe(10);
    liftCues([c], Number.NaN, moved);
    expect(c.line).toBe('auto');
  });
});

class FakeTrack extends EventTarget implements LiftableTrack {
  constructor(
    public mode: string,
    public cues: LiftableCue[],
  ) {
    super();
  }
}

class FakeTracks extends EventTarget {
  [index: number]: FakeTrack;
  length = 0;
  add(t: FakeTrack) {
    this[this.length++] = t;
    this.dispatchEvent(new Event('addtrack'));
  }
}

describe('cueLifter', () => {
  it('lifts the showing track’s cues, those arriving later too, and puts them back when stopped', () => {
    const tracks = new FakeTracks();
    let lift = 20;
    const lifter = cueLifter(tracks, () => lift);
    const shown = new FakeTrack('showing', [cue()]);
    const off = new FakeTrack('disabled', [cue()]);
    tracks.add(shown);
    tracks.add(off);
    expect(shown.cues[0].line).toBe(80);
    expect(off.cues[0].line).toBe('auto');
    // A cue that arrives with the stream, lifted as it becomes active.
    shown.cues.push(cue());
    shown.dispatchEvent(new Event('cuechange'));
    expect(shown.cues[1].line).toBe(80);
    // The bar goes.
    lift = 0;
    lifter.update();
    expect(shown.cues.map((c) => c.line)).toEqual(['auto', 'auto']);
    lift = 30;
    lifter.update();
    expect(shown.cues.map((c) => c.line)).toEqual([70, 70]);
    lifter.stop();
    expect(shown.cues.map((c) => c.line)).toEqual(['auto', 'auto']);
  });
});

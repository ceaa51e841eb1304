import { describe, expect, it } from 'vitest';
import { Activity, type Timers } from './activity.svelte';

function fakeTimers() {
  const pending = new Map<number, () => void>();
  let next = 1;
  const timers: Timers = {
    set: (cb) => (pending.set(next, cb), next++),
    clear: (h) => void pending.delete(h as number),
  };
  const fire = () => {
    const all = [...pending.values()];
    pending.clear();
    for (const cb of all) cb();
  };
  return { timers, fire, pending };
}

describe('Activity', () => {
  it('is active at first, and after a sign of someone until a while without one', () => {
    const t = fakeTimers();
    const a = new Activity(3000, t.timers);
    expect(a.active).toBe(true);
    a.wake();
    a.wake();
    expect(t.pending.size).toBe(1);
    t.fire();
    expect(a.active).toBe(false);
    a.wake();
    expect(a.active).toBe(true);
  });

  it('goes at once when a mouse leaves, not while dragging the seek bar, nor for a finger', () => {
    const t = fakeTimers();
    const a = new Activity(3000, t.timers);
    a.wake();
    a.left('mouse', true);
    expect(a.active).toBe(true);
    a.left('touch', false);
    expect(a.active).toBe(true);
    a.left('mouse', false);
    expect(a.active).toBe(false);
    expect(t.pending.size).toBe(0);
  });

  it('a mouse click on the picture plays or pauses, a double click is full screen', () => {
    const a = new Activity(3000, fakeTimers().timers);
    a.pressed('mouse', false);
    expect(a.clicked(true)).toBe('toggle-play');
    expect(a.clicked(false)).toBe('toggle-play');
    expect(a.doubleClicked()).toBe('fullscreen');
  });

  it('a tap shows the controls, or hides them if they showed while playing', () => {
    const t = fakeTimers();
    const a = new Activity(3000, t.timers);
    // Hidden: the tap's pointerdown woke them; the click does nothing more.
    a.pressed('touch', false);
    a.wake();
    expect(a.clicked(false)).toBeNull();
    expect(a.active).toBe(true);
    // Showing while playing: hidden.
    a.pressed('touch', true);
    a.wake();
    expect(a.clicked(false)).toBe('hide');
    expect(a.active).toBe(false);
    // Paused: they stay (and playback is the buttons').
    a.pressed('pen', true);
    expect(a.clicked(true)).toBeNull();
    expect(a.doubleClicked()).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { NOWHERE, shortcutFor } from './shortcuts';

const key = (k: string, more: object = {}) => ({ key: k, ...more });

describe('keyboard shortcuts', () => {
  it('space and k play and pause; the arrows seek 5 s, j and l 10 s; f, m, c, < and >', () => {
    expect(shortcutFor(key(' '), NOWHERE)).toEqual({ kind: 'toggle-play' });
    expect(shortcutFor(key('k'), NOWHERE)).toEqual({ kind: 'toggle-play' });
    expect(shortcutFor(key('K'), NOWHERE)).toEqual({ kind: 'toggle-play' });
    expect(shortcutFor(key('ArrowLeft'), NOWHERE)).toEqual({ kind: 'seek', by: -5 });
    expect(shortcutFor(key('ArrowRight'), NOWHERE)).toEqual({ kind: 'seek', by: 5 });
    expect(shortcutFor(key('j'), NOWHERE)).toEqual({ kind: 'seek', by: -10 });
    expect(shortcutFor(key('l'), NOWHERE)).toEqual({ kind: 'seek', by: 10 });
    expect(shortcutFor(key('f'), NOWHERE)).toEqual({ kind: 'fullscreen' });
    expect(shortcutFor(key('m'), NOWHERE)).toEqual({ kind: 'mute' });
    expect(shortcutFor(key('c'), NOWHERE)).toEqual({ kind: 'captions' });
    expect(shortcutFor(key('C'), NOWHERE)).toEqual({ kind: 'captions' });
    expect(shortcutFor(key('>'), NOWHERE)).toEqual({ kind: 'speed', step: 1 });
    expect(shortcutFor(key('<'), NOWHERE)).toEqual({ kind: 'speed', step: -1 });
    expect(shortcutFor(key('x'), NOWHERE)).toBeNull();
    expect(shortcutFor(key('ArrowUp'), NOWHERE)).toBeNull();
  });

  it('never fires while typing, nor in a dialog', () => {
    const typing = { ...NOWHERE, typing: true };
    for (const k of [' ', 'k', 'ArrowLeft', 'ArrowRight', 'f', 'm', 'c', 'j', '>']) {
      expect(shortcutFor(key(k), typing), k).toBeNull();
      expect(shortcutFor(key(k), { ...NOWHERE, inDialog: true }), k).toBeNull();
    }
  });

  it('leaves space to a focused button or link, and the arrows to a menu', () => {
    const onButton = { ...NOWHERE, activatable: true };
    expect(shortcutFor(key(' '), onButton)).toBeNull();
    expect(shortcutFor(key('k'), onButton)).toEqual({ kind: 'toggle-play' });
    expect(shortcutFor(key('ArrowLeft'), onButton)).toEqual({ kind: 'seek', by: -5 });
    const inMenu = { ...NOWHERE, activatable: true, ownsArrows: true };
    expect(shortcutFor(key('ArrowLeft'), inMenu)).toBeNull();
    expect(shortcutFor(key('ArrowRight'), inMenu)).toBeNull();
    expect(shortcutFor(key(' '), inMenu)).toBeNull();
  });

  it('leaves keys with modifiers, already handled, being composed, or held down (toggles) alone', () => {
    expect(shortcutFor(key('k', { ctrlKey: true }), NOWHERE)).toBeNull();
    expect(shortcutFor(key('f', { metaKey: true }), NOWHERE)).toBeNull();
    expect(shortcutFor(key('ArrowLeft', { altKey: true }), NOWHERE)).toBeNull();
    expect(shortcutFor(key(' ', { defaultPrevented: true }), NOWHERE)).toBeNull();
    expect(shortcutFor(key('m', { isComposing: true }), NOWHERE)).toBeNull();
    expect(shortcutFor(key(' ', { repeat: true }), NOWHERE)).toBeNull();
    expect(shortcutFor(key('f', { repeat: true }), NOWHERE)).toBeNull();
    expect(shortcutFor(key('c', { repeat: true }), NOWHERE)).toBeNull();
    // Holding an arrow keeps seeking.
    expect(shortcutFor(key('ArrowRight', { repeat: true }), NOWHERE)).toEqual({ kind: 'seek', by: 5 });
  });
});

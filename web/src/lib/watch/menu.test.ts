import { describe, expect, it } from 'vitest';
import { menuMove } from './menu';

describe('moving in a menu with the keyboard', () => {
  it('goes round with the arrows', () => {
    expect(menuMove('ArrowDown', 0, 3)).toEqual({ focus: 1 });
    expect(menuMove('ArrowDown', 2, 3)).toEqual({ focus: 0 });
    expect(menuMove('ArrowUp', 0, 3)).toEqual({ focus: 2 });
    expect(menuMove('ArrowUp', 2, 3)).toEqual({ focus: 1 });
  });
  it('starts at an end when nothing has the focus', () => {
    expect(menuMove('ArrowDown', -1, 3)).toEqual({ focus: 0 });
    expect(menuMove('ArrowUp', -1, 3)).toEqual({ focus: 2 });
  });
  it('jumps to the ends with Home and End', () => {
    expect(menuMove('Home', 1, 4)).toEqual({ focus: 0 });
    expect(menuMove('End', 1, 4)).toEqual({ focus: 3 });
  });
  it('closes on Escape and Tab, and leaves other keys alone', () => {
    expect(menuMove('Escape', 1, 4)).toEqual({ close: 'escape' });
    expect(menuMove('Tab', 1, 4)).toEqual({ close: 'tab' });
    expect(menuMove('Enter', 1, 4)).toBeNull();
    expect(menuMove('a', 1, 4)).toBeNull();
    expect(menuMove('ArrowDown', -1, 0)).toBeNull();
  });
});

// Keyboard movement in a menu (WAI-ARIA menu button pattern): the arrows go round, Home and End to the
// ends; Escape and Tab close it.

export type MenuMove = { focus: number } | { close: 'escape' | 'tab' } | null;

export function menuMove(key: string, index: number, count: number): MenuMove {
  if (count === 0) return key === 'Escape' ? { close: 'escape' } : null;
  switch (key) {
    case 'ArrowDown':
    case 'Down':
      return { focus: index < 0 ? 0 : (index + 1) % count };
    case 'ArrowUp':
    case 'Up':
      return { focus: index < 0 ? count - 1 : (index - 1 + count) % count };
    case 'Home':
    case 'PageUp':
      return { focus: 0 };
    case 'End':
    case 'PageDown':
      return { focus: count - 1 };
    case 'Escape':
    case 'Esc':
      return { close: 'escape' };
    case 'Tab':
      return { close: 'tab' };
    default:
      return null;
  }
}

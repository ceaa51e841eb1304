// The player's keyboard shortcuts, as on the players people know: space or k plays and pauses, the
// left and right arrows go back and forward 5 s (j and l: 10 s), f is full screen, m mutes, c turns
// captions on and off, < and > change the speed. They work from anywhere on the page, except where the key means something else:
// typing in a field, a button or link that space activates, a menu or other widget that uses the
// arrows, an open dialog.

export type ShortcutAction =
  | { kind: 'toggle-play' }
  | { kind: 'seek'; by: number }
  | { kind: 'fullscreen' }
  | { kind: 'mute' }
  | { kind: 'captions' }
  | { kind: 'speed'; step: 1 | -1 };

export const SEEK_SECONDS = 5;
export const LONG_SEEK_SECONDS = 10;

export interface KeyInfo {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  repeat?: boolean;
  defaultPrevented?: boolean;
  isComposing?: boolean;
}

/** Where the key was pressed. */
export interface FocusInfo {
  /** A text field, select or editable content: every key is typing. */
  typing: boolean;
  /** A button, link or the like, which space (and Enter) activate. */
  activatable: boolean;
  /** A widget that moves with the arrow keys (menu, slider, radio group, listbox, tabs…). */
  ownsArrows: boolean;
  /** Inside an open dialog: the page behind it is not being watched. */
  inDialog: boolean;
}

export const NOWHERE: FocusInfo = { typing: false, activatable: false, ownsArrows: false, inDialog: false };

/** The action for a key pressed where `focus` says, or null: the key is left alone. */
export function shortcutFor(e: KeyInfo, focus: FocusInfo): ShortcutAction | null {
  if (e.defaultPrevented || e.isComposing || e.ctrlKey || e.metaKey || e.altKey) return null;
  if (focus.typing || focus.inDialog) return null;
  switch (e.key) {
    case ' ':
    case 'Spacebar':
      if (focus.activatable || focus.ownsArrows) return null;
      return e.repeat ? null : { kind: 'toggle-play' };
    case 'k':
    case 'K':
      return e.repeat ? null : { kind: 'toggle-play' };
    case 'ArrowLeft':
    case 'Left':
      return focus.ownsArrows ? null : { kind: 'seek', by: -SEEK_SECONDS };
    case 'ArrowRight':
    case 'Right':
      return focus.ownsArrows ? null : { kind: 'seek', by: SEEK_SECONDS };
    case 'j':
    case 'J':
      return { kind: 'seek', by: -LONG_SEEK_SECONDS };
    case 'l':
    case 'L':
      return { kind: 'seek', by: LONG_SEEK_SECONDS };
    case 'f':
    case 'F':
      return e.repeat ? null : { kind: 'fullscreen' };
    case 'm':
    case 'M':
      return e.repeat ? null : { kind: 'mute' };
    case 'c':
    case 'C':
      return e.repeat ? null : { kind: 'captions' };
    case '>':
      return { kind: 'speed', step: 1 };
    case '<':
      return { kind: 'speed', step: -1 };
    default:
      return null;
  }
}

const TYPING = 'input, textarea, select, [contenteditable]:not([contenteditable="false"]), [role="textbox"], [role="combobox"], [role="searchbox"], [role="spinbutton"]';
const ACTIVATABLE = 'button, a[href], summary, [role="button"], [role="link"], [role="checkbox"], [role="switch"], [role="tab"]';
const OWNS_ARROWS =
  '[role="menu"], [role="menubar"], [role="menuitem"], [role="menuitemradio"], [role="menuitemcheckbox"], [role="slider"], [role="radiogroup"], [role="radio"], [role="listbox"], [role="option"], [role="tablist"], [role="tree"], [role="grid"], [role="toolbar"]';

/** Where a key event's target is, in the terms of `FocusInfo`. */
export function focusInfo(target: EventTarget | null): FocusInfo {
  const el = target && typeof (target as Element).closest === 'function' ? (target as Element) : null;
  if (!el) return NOWHERE;
  return {
    typing: !!el.closest(TYPING),
    activatable: !!el.closest(ACTIVATABLE),
    ownsArrows: !!el.closest(OWNS_ARROWS),
    inDialog: !!el.closest('dialog[open], [role="dialog"], [role="alertdialog"]'),
  };
}

// Whether someone is there: the player's controls show while the pointer moves over it (for 3 s after),
// and go at once when a mouse leaves it. On the picture itself, a mouse click plays or pauses and a
// double click is full screen (as the browsers' own players); a tap (finger or pen) shows the controls,
// or hides them when they were showing.

export const IDLE_MS = 3000;

export type PictureAction = 'toggle-play' | 'fullscreen' | 'hide' | null;

export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (cb, ms) => setTimeout(cb, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class Activity {
  #active = $state(true);
  #timer: unknown = undefined;
  /** The last press on the picture: by what, and whether the controls showed then. */
  #press = { type: 'mouse', hadControls: true };
  readonly #timers: Timers;
  readonly #idleMs: number;

  constructor(idleMs = IDLE_MS, timers: Timers = realTimers) {
    this.#idleMs = idleMs;
    this.#timers = timers;
  }

  /** The pointer moved over the player lately. */
  get active(): boolean {
    return this.#active;
  }

  /** A sign of someone there: the controls show, until a while without one. */
  wake(): void {
    this.#active = true;
    this.#timers.clear(this.#timer);
    this.#timer = this.#timers.set(() => (this.#active = false), this.#idleMs);
  }

  /** Out of the way now. */
  sleep(): void {
    this.#timers.clear(this.#timer);
    this.#timer = undefined;
    this.#active = false;
  }

  /** The pointer left the player: a mouse takes the controls with it (not while dragging the seek bar). */
  left(pointerType: string, dragging: boolean): void {
    if (pointerType === 'mouse' && !dragging) this.sleep();
  }

  /** A press on the picture (before the player's own `wake`). */
  pressed(pointerType: string, controlsShown: boolean): void {
    this.#press = { type: pointerType || 'mouse', hadControls: controlsShown };
  }

  /** A click on the picture, after `pressed`: what to do. */
  clicked(paused: boolean): PictureAction {
    if (this.#press.type === 'mouse') return 'toggle-play';
    if (this.#press.hadControls && !paused) {
      this.sleep();
      return 'hide';
    }
    return null;
  }

  /** A double click on the picture. */
  doubleClicked(): PictureAction {
    return this.#press.type === 'mouse' ? 'fullscreen' : null;
  }

  stop(): void {
    this.#timers.clear(this.#timer);
  }
}

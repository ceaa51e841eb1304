// Playback speed: the choices the player offers, and how they read.

export const SPEEDS: readonly number[] = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
export const MIN_SPEED = SPEEDS[0];
export const MAX_SPEED = SPEEDS[SPEEDS.length - 1];

/** A rate within what the player offers (0.5–2×); anything unreadable is 1×. */
export function clampSpeed(rate: number): number {
  if (!Number.isFinite(rate) || rate <= 0) return 1;
  return Math.min(MAX_SPEED, Math.max(MIN_SPEED, rate));
}

/** `1×`, `1.5×`, `0.75×`. */
export function speedText(rate: number): string {
  return `${Math.round(rate * 100) / 100}×`;
}

/** A menu entry: `Normal` for 1×, else the rate. */
export function speedOptionLabel(rate: number): string {
  return rate === 1 ? 'Normal' : speedText(rate);
}

/** The next choice up (`step` 1) or down (−1) from a rate, staying at the ends. */
export function stepSpeed(rate: number, step: 1 | -1): number {
  const current = clampSpeed(rate);
  if (step > 0) return SPEEDS.find((s) => s > current + 1e-9) ?? MAX_SPEED;
  return [...SPEEDS].reverse().find((s) => s < current - 1e-9) ?? MIN_SPEED;
}

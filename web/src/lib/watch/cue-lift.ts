// Captions stay above the player's control bar while it shows. Blink and WebKit draw cues in a box that
// page CSS can move (`video::-webkit-media-text-track-container`): the player moves it up by the bar's
// height (its `--cue-lift`). Elsewhere (Firefox) the cues themselves are moved: each cue the author left
// at its default place (`line: auto`) is put with its bottom edge above the bar, and back when the bar
// goes.

export const CSS_LIFT_SELECTOR = 'selector(video::-webkit-media-text-track-container)';

/** Whether the cue box can be moved by CSS here. */
export function canLiftByCss(supports: ((condition: string) => boolean) | undefined = globalThis.CSS?.supports?.bind(globalThis.CSS)): boolean {
  try {
    return !!supports?.(CSS_LIFT_SELECTOR);
  } catch {
    return false;
  }
}

/** What lifting uses of a `VTTCue`. */
export interface LiftableCue {
  line: number | 'auto';
  snapToLines: boolean;
  lineAlign?: string;
}

/**
 * Lifts the cues that sit at their default place so that their bottom edge is `liftPercent` % of the
 * video's height above its bottom; 0 puts the ones it moved back. `moved` remembers which it moved
 * (a cue an author placed is never touched).
 */
export function liftCues(cues: Iterable<LiftableCue>, liftPercent: number, moved: WeakSet<LiftableCue>): void {
  const lift = Number.isFinite(liftPercent) ? Math.min(90, Math.max(0, liftPercent)) : 0;
  for (const cue of cues) {
    const ours = moved.has(cue);
    if (!ours && cue.line !== 'auto') continue;
    if (lift > 0) {
      cue.snapToLines = false;
      cue.lineAlign = 'end';
      cue.line = Math.round((100 - lift) * 100) / 100;
      moved.add(cue);
    } else if (ours) {
      cue.snapToLines = true;
      cue.line = 'auto';
      cue.lineAlign = 'start';
      moved.delete(cue);
    }
  }
}

/** What the lifter uses of a `TextTrack`. */
export interface LiftableTrack extends EventTarget {
  readonly mode: string;
  /** VTTCues, and maybe others (Safari's DataCues), which are left alone. */
  readonly cues: ArrayLike<object> | null;
}

function isLiftable(cue: object): cue is LiftableCue {
  return 'line' in cue && 'snapToLines' in cue;
}

/**
 * Keeps the showing tracks' cues lifted by `liftPercent()` (cues load, and arrive with the stream on
 * native HLS: they are lifted as they become active). `update()` after the lift changes. Returns the
 * lifter; `stop()` puts every cue back.
 */
export function cueLifter(tracks: { readonly length: number; readonly [index: number]: LiftableTrack } & EventTarget, liftPercent: () => number) {
  const moved = new WeakSet<LiftableCue>();
  const watched = new Set<LiftableTrack>();
  const lift = (track: LiftableTrack, percent: number) => {
    if (track.cues) liftCues(Array.from(track.cues).filter(isLiftable), track.mode === 'showing' ? percent : 0, moved);
  };
  const onCue = (e: Event) => lift(e.target as LiftableTrack, liftPercent());
  const update = () => {
    const percent = liftPercent();
    for (let i = 0; i < tracks.length; i++) {
      const t = tracks[i];
      if (!watched.has(t)) {
        watched.add(t);
        t.addEventListener('cuechange', onCue);
      }
      lift(t, percent);
    }
  };
  tracks.addEventListener('addtrack', update);
  tracks.addEventListener('change', update);
  update();
  return {
    update,
    stop() {
      tracks.removeEventListener('addtrack', update);
      tracks.removeEventListener('change', update);
      for (const t of watched) {
        t.removeEventListener('cuechange', onCue);
        lift(t, 0);
      }
      watched.clear();
    },
  };
}

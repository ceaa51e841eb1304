// Attaches an HLS stream to a <video>: hls.js (bundled, loaded on demand) over Media Source Extensions,
// or the browser's own HLS on Apple's engine (Safari, every iOS browser) and where MSE is missing.
//
// Playback starts at 0:00 even while the playlist is still an open EVENT playlist: hls.js gets
// `startPosition: 0` and never chases the live edge; when processing ends the playlist gains ENDLIST on
// its next reload and the whole video becomes seekable.

import workerUrl from 'hls.js/dist/hls.worker.js?url';

export interface PlayerHandle {
  destroy(): void;
}

export interface AttachOptions {
  onFatalError?(message: string): void;
}

const HLS_TYPE = 'application/vnd.apple.mpegurl';

function isAppleEngine(): boolean {
  return typeof navigator !== 'undefined' && /apple/i.test(navigator.vendor ?? '');
}

/** Native playback where asked for: Apple's engine says it can, or hls.js cannot run at all. */
export function shouldUseNative(canPlayNative: boolean, mseSupported: boolean, appleEngine: boolean): boolean {
  if (!canPlayNative) return false;
  return appleEngine || !mseSupported;
}

export async function attachStream(video: HTMLVideoElement, src: string, options: AttachOptions = {}): Promise<PlayerHandle> {
  const { default: Hls } = await import('hls.js/light');
  const native = video.canPlayType(HLS_TYPE) !== '';
  if (shouldUseNative(native, Hls.isSupported(), isAppleEngine())) {
    return attachNative(video, src);
  }
  if (!Hls.isSupported()) {
    options.onFatalError?.('This browser cannot play this video. Try a recent Chrome, Firefox, Edge or Safari.');
    return { destroy() {} };
  }

  const hls = new Hls({
    startPosition: 0,
    workerPath: workerUrl,
    enableWorker: true,
    lowLatencyMode: false,
    // An open (EVENT) playlist is "live" to hls.js: never skip ahead to catch up with its end.
    // (hls.js insists that both counts be given together.)
    liveSyncDurationCount: 3,
    liveMaxLatencyDurationCount: Infinity,
    maxLiveSyncPlaybackRate: 1,
    liveDurationInfinity: false,
    backBufferLength: 90,
  });
  let mediaRecoveries = 0;
  let destroyed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal || destroyed) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 2) {
      mediaRecoveries++;
      hls.recoverMediaError();
      return;
    }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      // The server may be restarting or the connection flaky: try again shortly.
      clearTimeout(retry);
      retry = setTimeout(() => {
        if (!destroyed) hls.startLoad();
      }, 2000);
      return;
    }
    options.onFatalError?.('Playback failed. Reload the page to try again.');
  });
  hls.loadSource(src);
  hls.attachMedia(video);
  return {
    destroy() {
      destroyed = true;
      clearTimeout(retry);
      hls.destroy();
    },
  };
}

function attachNative(video: HTMLVideoElement, src: string): PlayerHandle {
  // Some engines open an EVENT playlist at its live end: bring the first start back to 0:00.
  const toStart = () => {
    if (video.currentTime > 1 && video.seekable.length > 0 && video.seekable.start(0) < 1) {
      video.currentTime = 0;
    }
  };
  video.addEventListener('loadedmetadata', toStart, { once: true });
  video.src = src;
  return {
    destroy() {
      video.removeEventListener('loadedmetadata', toStart);
      video.removeAttribute('src');
      video.load();
    },
  };
}

// Minimal share-page player: waits until the video is playable, then plays it from 0:00 over HLS.
(function () {
  "use strict";
  var root = document.getElementById("player");
  var id = root.getAttribute("data-id");
  var video = document.getElementById("video");
  var state = document.getElementById("state");
  var attached = false;
  var hls = null;

  function say(text) { state.textContent = text; }

  function attach(streamUrl) {
    attached = true;
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = streamUrl; // Safari / iOS: native HLS
      return;
    }
    if (!window.Hls || !window.Hls.isSupported()) {
      say("This browser cannot play HLS video.");
      return;
    }
    // startPosition 0: an EVENT playlist still growing must start at 0:00, not at its live edge.
    hls = new window.Hls({ startPosition: 0, liveDurationInfinity: false, enableWorker: true });
    hls.loadSource(streamUrl);
    hls.attachMedia(video);
  }

  function poll() {
    fetch("/api/video/" + id, { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (v) {
        if (v.thumbnailUrl && !video.getAttribute("poster")) video.setAttribute("poster", v.thumbnailUrl);
        if (v.status === "error") {
          say("This video could not be processed: " + (v.error ? v.error.message : "unknown reason"));
          return;
        }
        if (v.playable && !attached) attach(v.streamUrl);
        if (v.status === "ready") { say(""); return; }
        say(v.playable ? "Playable — still processing " + Math.round(v.progress * 100) + "%" : "Preparing…");
        setTimeout(poll, v.playable ? 2000 : 300);
      })
      .catch(function () { say("This video is not available."); });
  }
  poll();
})();

// The gallery's hover previews: resting on a tile (mouse or keyboard focus) for a moment
// plays its short muted preview clip, never the full video; leaving the tile stops the
// clip and releases it, so the browser drops the media. At most one clip plays at a time.
// Tiles arrive later with "load more", so everything listens on the document.
(function () {
  "use strict";

  var DELAY_MS = 250;
  var waiting = null; // the tile whose preview starts when the timer fires
  var timer = null;
  var playing = null; // the tile whose preview is playing

  function tileOf(node) {
    return node && node.closest ? node.closest(".gallery-tile[data-preview]") : null;
  }

  function stop() {
    clearTimeout(timer);
    timer = null;
    waiting = null;
    if (!playing) return;
    var video = playing.querySelector("video.tile-preview");
    if (video) {
      video.pause();
      video.removeAttribute("src");
      video.load(); // drops the media the element held
      video.remove();
    }
    playing = null;
  }

  function play(tile) {
    var video = document.createElement("video");
    video.className = "tile-preview";
    video.muted = true;
    video.loop = true;
    video.playsInline = true;
    video.setAttribute("muted", "");
    video.setAttribute("playsinline", "");
    video.setAttribute("aria-hidden", "true");
    video.src = tile.getAttribute("data-preview");
    tile.querySelector(".tile-media").appendChild(video);
    playing = tile;
    var started = video.play();
    if (started && started.catch) started.catch(function () {}); // stopped before it began
  }

  function enter(tile) {
    if (tile === playing || tile === waiting) return;
    stop();
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) return;
    waiting = tile;
    timer = setTimeout(function () {
      timer = null;
      waiting = null;
      play(tile);
    }, DELAY_MS);
  }

  function leave(tile, next) {
    if (next && tile.contains(next)) return; // moving within the tile
    if (tile === playing || tile === waiting) stop();
  }

  document.addEventListener("mouseover", function (event) {
    var tile = tileOf(event.target);
    if (tile) enter(tile);
  });
  document.addEventListener("mouseout", function (event) {
    var tile = tileOf(event.target);
    if (tile) leave(tile, event.relatedTarget);
  });
  document.addEventListener("focusin", function (event) {
    var tile = tileOf(event.target);
    if (tile) enter(tile);
  });
  document.addEventListener("focusout", function (event) {
    var tile = tileOf(event.target);
    if (tile) leave(tile, event.relatedTarget);
  });
  // Days are the viewer's days: tell the server which time zone this browser is in.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\/-]+$/.test(zone) && document.cookie.split("; ").indexOf("tz=" + zone) < 0) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (error) {
    // No Intl time zone: the site's time zone is used.
  }

  // A hidden tab plays nothing.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) stop();
  });
})();

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
    // Named after its tile's prompt, though the tile's link already says it to screen
    // readers (the clip is a silent decoration of it).
    var prompt = tile.querySelector(".tile-prompt");
    if (prompt) video.setAttribute("aria-label", prompt.textContent.trim());
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
  // The keyboard: the tiles are links in reading order (Tab, Enter open them); the arrow
  // keys move between them as they are laid out: left/right to the previous/next tile,
  // up/down to the nearest tile in the row above/below; Home and End to the first and last.
  function tileLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#gallery-grid .tile-link"));
  }

  function centre(link) {
    var box = link.getBoundingClientRect();
    return { x: box.left + box.width / 2, y: box.top };
  }

  function nearestInRow(links, from, down) {
    var here = centre(from);
    var best = null;
    var bestScore = Infinity;
    links.forEach(function (link) {
      var there = centre(link);
      var rows = down ? there.y - here.y : here.y - there.y;
      if (rows <= 1) return;
      var score = rows * 10 + Math.abs(there.x - here.x);
      if (score < bestScore) {
        best = link;
        bestScore = score;
      }
    });
    return best;
  }

  function target(links, from, key) {
    var index = links.indexOf(from);
    if (key === "ArrowRight") return links[index + 1];
    if (key === "ArrowLeft") return links[index - 1];
    if (key === "Home") return links[0];
    if (key === "End") return links[links.length - 1];
    if (key === "ArrowDown" || key === "ArrowUp") return nearestInRow(links, from, key === "ArrowDown");
    return null;
  }

  document.addEventListener("keydown", function (event) {
    var from = event.target.closest && event.target.closest("#gallery-grid .tile-link");
    if (!from || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var next = target(tileLinks(), from, event.key);
    if (next === null) return;
    event.preventDefault(); // the page does not scroll, even at either end
    if (next) next.focus();
  });

  // A hidden tab plays nothing.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) stop();
  });
})();

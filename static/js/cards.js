// Live cards: in-flight cards' elapsed times tick every second, the page's one poller pauses while the tab
// is hidden and asks at once when it becomes visible again, and a card that becomes ready
// or failed is announced to screen readers (#card-announcer, a polite live region).
(function () {
  "use strict";

  function format(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  // An in-flight card's <time> carries its translated label ("{time} elapsed"); a finished
  // card's has no data-started and keeps the text the server wrote.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.elapsed[data-started]").forEach(function (el) {
      var started = Date.parse(el.getAttribute("data-started"));
      if (isNaN(started)) return;
      var seconds = Math.max(0, Math.floor((now - started) / 1000));
      var label = el.getAttribute("data-label") || "{time}";
      el.textContent = label.replace("{time}", format(seconds));
      el.setAttribute("datetime", "PT" + seconds + "S");
    });
  }
  setInterval(tick, 1000);

  var FINISHED = { ready: true, failed: true, attention: true };
  var known = {};

  function cards() {
    return document.querySelectorAll("[data-generation-id][data-status]");
  }

  function remember() {
    cards().forEach(function (card) {
      known[card.getAttribute("data-generation-id")] = card.getAttribute("data-status");
    });
  }

  // Compare every card with what it was; announce the ones that have just finished.
  function announceFinished() {
    var lines = [];
    cards().forEach(function (card) {
      var id = card.getAttribute("data-generation-id");
      var status = card.getAttribute("data-status");
      if (id in known && known[id] !== status && FINISHED[status]) {
        var word = card.querySelector(".status-word");
        var prompt = card.querySelector(".gen-prompt");
        var text = prompt ? prompt.textContent.trim() : "";
        if (text.length > 80) text = text.slice(0, 79) + "…";
        lines.push((word ? word.textContent.trim() : status) + (text ? ": " + text : ""));
      }
      known[id] = status;
    });
    var announcer = document.getElementById("card-announcer");
    if (announcer && lines.length) announcer.textContent = lines.join(". ");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", remember);
  } else {
    remember();
  }
  document.addEventListener("htmx:oobAfterSwap", announceFinished);
  document.addEventListener("htmx:afterSwap", announceFinished);

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.target && event.target.id === "card-poller" && document.hidden) {
      event.preventDefault();
    }
  });

  document.addEventListener("visibilitychange", function () {
    var poller = document.getElementById("card-poller");
    if (!document.hidden && poller && poller.hasAttribute("hx-get") && window.htmx) {
      window.htmx.trigger(poller, "poll-now");
    }
  });
})();

// Live cards: in-flight cards' elapsed times and progress bars move every second; the
// page's one poller slows down while the tab is hidden and asks at once when it becomes
// visible again; a card that becomes ready or failed is announced to screen readers
// (#card-announcer, a polite live region), counted in the tab's title while the tab is
// hidden, and (when the person asked for it) shown as a browser notification.
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

  // The share of the bar to fill after `elapsed` of a usual `estimate` seconds: 90 % at the
  // estimate, then ever slower towards 99 %, so it never looks done before the video is.
  function progressShare(elapsed, estimate) {
    if (!(estimate > 0)) return 0;
    if (elapsed <= estimate) return 0.9 * Math.max(0, elapsed) / estimate;
    return 0.9 + 0.09 * (1 - Math.exp(-(elapsed - estimate) / estimate));
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
    // Set through the CSSOM (allowed by the CSP, unlike a style attribute).
    document.querySelectorAll(".gen-progress[data-estimate][data-started]").forEach(function (bar) {
      var started = Date.parse(bar.getAttribute("data-started"));
      var estimate = parseFloat(bar.getAttribute("data-estimate"));
      var fill = bar.querySelector("span");
      if (isNaN(started) || !fill) return;
      var share = progressShare((now - started) / 1000, estimate);
      fill.style.width = (share * 100).toFixed(1) + "%";
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

  // --- The tab's title while the tab is hidden ---------------------------------------------

  var baseTitle = document.title;
  var unseen = 0;

  function countInTitle(count, word) {
    if (!document.hidden || !count) return;
    unseen += count;
    document.title = "(" + unseen + ") " + word + " · " + baseTitle;
  }

  function clearTitle() {
    if (!unseen) return;
    unseen = 0;
    document.title = baseTitle;
  }

  // --- Browser notifications, only when asked for --------------------------------------------

  var NOTIFY_KEY = "rivyaweb.notify-ready";

  function notifySupported() {
    return "Notification" in window;
  }

  function notifyWanted() {
    try {
      return window.localStorage.getItem(NOTIFY_KEY) === "on";
    } catch (e) {
      return false;
    }
  }

  function rememberNotify(on) {
    try {
      if (on) window.localStorage.setItem(NOTIFY_KEY, "on");
      else window.localStorage.removeItem(NOTIFY_KEY);
    } catch (e) {
      // Storage refused (private mode): the choice lasts for this page only.
    }
  }

  function notifyReady(card, word, text) {
    if (!notifySupported() || !notifyWanted() || window.Notification.permission !== "granted") return;
    if (!document.hidden) return; // the card itself says it
    try {
      var notification = new window.Notification(word, {
        body: text,
        tag: "generation-" + card.getAttribute("data-generation-id"),
      });
      notification.onclick = function () {
        window.focus();
        card.scrollIntoView({ block: "center" });
      };
    } catch (e) {
      // Some browsers only notify from a service worker: the title still says it.
    }
  }

  function setUpNotifyControl() {
    var control = document.querySelector("[data-notify-control]");
    if (!control || !notifySupported()) return;
    var box = control.querySelector("input[type=checkbox]");
    var blocked = control.querySelector(".notify-blocked");
    control.hidden = false;
    box.checked = notifyWanted() && window.Notification.permission === "granted";
    var showBlocked = function () {
      box.checked = false;
      rememberNotify(false);
      if (blocked) blocked.hidden = false;
    };
    box.addEventListener("change", function () {
      if (blocked) blocked.hidden = true;
      if (!box.checked) {
        rememberNotify(false);
        return;
      }
      var permission = window.Notification.permission;
      if (permission === "granted") {
        rememberNotify(true);
      } else if (permission === "denied") {
        showBlocked();
      } else {
        // Asked only now, on the person's own click, never on load.
        Promise.resolve(window.Notification.requestPermission()).then(function (answer) {
          if (answer === "granted") rememberNotify(true);
          else showBlocked();
        }, showBlocked);
      }
    });
  }

  // --- Cards that have just finished -------------------------------------------------------

  // Compare every card with what it was; announce the ones that have just finished.
  function announceFinished() {
    var lines = [];
    var lastWord = "";
    cards().forEach(function (card) {
      var id = card.getAttribute("data-generation-id");
      var status = card.getAttribute("data-status");
      if (id in known && known[id] !== status && FINISHED[status]) {
        var word = card.querySelector(".status-word");
        var prompt = card.querySelector(".gen-prompt");
        var text = prompt ? prompt.textContent.trim() : "";
        if (text.length > 80) text = text.slice(0, 79) + "…";
        lastWord = word ? word.textContent.trim() : status;
        lines.push(lastWord + (text ? ": " + text : ""));
        if (status === "ready") notifyReady(card, lastWord, text);
      }
      known[id] = status;
    });
    var announcer = document.getElementById("card-announcer");
    if (announcer && lines.length) announcer.textContent = lines.join(". ");
    countInTitle(lines.length, lastWord);
  }

  function start() {
    remember();
    tick();
    setUpNotifyControl();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  function afterSwap() {
    announceFinished();
    tick();
  }
  document.addEventListener("htmx:oobAfterSwap", afterSwap);
  document.addEventListener("htmx:afterSwap", afterSwap);

  // --- The poller: every 2 s while visible, every data-background-seconds while hidden ----

  var lastPoll = 0;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var poller = event.target;
    if (!poller || poller.id !== "card-poller") return;
    if (document.hidden) {
      var every = parseFloat(poller.getAttribute("data-background-seconds"));
      if (isNaN(every)) every = 15;
      if (Date.now() - lastPoll < every * 1000) {
        event.preventDefault();
        return;
      }
    }
    lastPoll = Date.now();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    clearTitle();
    var poller = document.getElementById("card-poller");
    if (poller && poller.hasAttribute("hx-get") && window.htmx) {
      window.htmx.trigger(poller, "poll-now");
    }
  });
})();

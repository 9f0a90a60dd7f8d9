// Live cards: elapsed times tick every second, and the page's one poller pauses while
// the tab is hidden and asks at once when it becomes visible again.
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

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.elapsed[data-started]:not([data-finished])").forEach(function (el) {
      var started = Date.parse(el.getAttribute("data-started"));
      if (!isNaN(started)) el.textContent = format((now - started) / 1000);
    });
  }
  setInterval(tick, 1000);

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

// Tells the server which time zone this browser is in ("tz" cookie), so dates and times
// read as the viewer's clock on the next page (rivyaweb/timezones.py). Set again whenever
// the zone changes, as after a flight from Hanoi to Paris.
(function () {
  "use strict";
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\/-]+$/.test(zone) && document.cookie.split("; ").indexOf("tz=" + zone) < 0) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (error) {
    // No Intl time zone: the site's time zone is used.
  }
})();

// Live countdowns: <time data-countdown="ISO-8601"> shows "in 2 h 5 min" / "3 min ago".
(function () {
  "use strict";
  function format(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    var parts = [];
    if (d) parts.push(d + " d");
    if (d || h) parts.push(h + " h");
    if (!d) parts.push(m + " min");
    if (!d && !h) parts.push(sec + " s");
    return parts.join(" ");
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var target = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(target)) return;
      var out = el.querySelector(".countdown-left") || el;
      var diff = target - now;
      out.textContent = diff > 0 ? "in " + format(diff) : format(diff) + " ago";
    });
  }
  tick();
  setInterval(tick, 1000);
})();

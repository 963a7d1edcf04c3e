/* Score progression: the best public score over time of the top ten and the baselines,
 * drawn as step lines in SVG from /leaderboard/<slug>/progression.json (which applies the
 * visibility rule: nothing after the freeze while frozen). No library. Redrawn once a
 * minute (the board itself is the live part; no second event stream per viewer). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d",
                "#4d7c0f", "#9333ea", "#c2410c"];
  var root = document.getElementById("lb-progression");
  if (!root) { return; }

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function draw(data) {
    var chart = root.querySelector(".lb-progression-chart");
    chart.textContent = "";
    var series = data.series.filter(function (s) { return s.points.length; });
    if (data.baseline.length) { series.push({ name: "baseline", points: data.baseline, baseline: true }); }
    if (!series.length) { chart.textContent = "No scores yet."; return; }
    var tmin = Infinity, tmax = -Infinity, ymin = Infinity, ymax = -Infinity;
    series.forEach(function (s) {
      s.points.forEach(function (p) {
        p.t = Date.parse(p.at);
        tmin = Math.min(tmin, p.t); tmax = Math.max(tmax, p.t);
        ymin = Math.min(ymin, p.score); ymax = Math.max(ymax, p.score);
      });
    });
    var end = data.cutoff ? Date.parse(data.cutoff) : Date.now();
    tmax = Math.max(tmax, end);
    if (tmin === tmax) { tmin -= 60000; }
    if (ymin === ymax) { ymin -= 1; ymax += 1; }
    var width = chart.clientWidth || 720, height = 320, pad = { l: 64, r: 140, t: 12, b: 36 };
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", height: height,
                          role: "img", "aria-label": "Best public score over time" }, chart);
    function x(t) { return pad.l + (t - tmin) / (tmax - tmin) * (width - pad.l - pad.r); }
    function y(v) { return pad.t + (ymax - v) / (ymax - ymin) * (height - pad.t - pad.b); }
    for (var i = 0; i <= 4; i++) {
      var v = ymin + (ymax - ymin) * i / 4;
      el("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), stroke: "#e5e7eb" }, svg);
      el("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 12 }, svg)
        .textContent = String(Math.round(v * 10000) / 10000);
    }
    [tmin, tmax].forEach(function (t, k) {
      el("text", { x: x(t), y: height - 12, "text-anchor": k ? "end" : "start", "font-size": 12 }, svg)
        .textContent = new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    });
    series.forEach(function (s, k) {
      var color = s.baseline ? "#6b7280" : COLORS[k % COLORS.length];
      var d = "", last = null;
      s.points.forEach(function (p) {
        d += (d ? " H" + x(p.t) + " V" + y(p.score) : "M" + x(p.t) + " " + y(p.score));
        last = p;
      });
      d += " H" + x(end);
      el("path", { d: d, fill: "none", stroke: color, "stroke-width": 2.5,
                   "stroke-dasharray": s.baseline ? "6 4" : "" }, svg);
      el("text", { x: x(end) + 6, y: y(last.score) + 4, fill: color, "font-size": 13 }, svg)
        .textContent = s.name;
    });
  }

  function load() {
    fetch(root.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(draw)
      .catch(function () {});
  }
  load();
  setInterval(load, 60000);
})();

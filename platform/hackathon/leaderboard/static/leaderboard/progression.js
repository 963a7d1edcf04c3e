/* Score progression: the best public score over time of the top ten and the baselines,
 * drawn as step lines in SVG from /leaderboard/<slug>/progression.json (which applies the
 * visibility rule: nothing after the freeze while frozen). No library.
 *
 *   var chart = ScoreProgression.mount(element, {dark: true, fill: true});
 *   chart.load();   // fetch element.dataset.url and redraw
 *
 * The public board's chart (#lb-progression) mounts itself and is redrawn once a minute (the
 * board is the live part); the projector mounts its own, dark, filling its box (`fill`), and
 * redraws it on the board's live hints. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d",
                "#4d7c0f", "#9333ea", "#c2410c"];
  var DARK = ["#60a5fa", "#f87171", "#34d399", "#fbbf24", "#c084fc", "#22d3ee", "#f472b6",
              "#a3e635", "#e879f9", "#fb923c"];

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function draw(chart, data, options) {
    var dark = !!options.dark;
    var palette = dark ? DARK : COLORS;
    var ink = dark ? "#e5e7eb" : "#111827", grid = dark ? "#2a3358" : "#e5e7eb";
    var baselineColor = dark ? "#9ca3af" : "#6b7280";
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
    var width = chart.clientWidth || 720;
    var height = options.height || chart.clientHeight || 320;
    var font = Math.max(12, Math.round(options.font || width / 75));
    var pad = { l: font * 5, r: font * 11, t: font, b: font * 3 };
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: "100%",
                          height: options.fill ? "100%" : height,
                          role: "img", "aria-label": "Best public score over time" }, chart);
    if (options.fill) { svg.setAttribute("class", "progression-fill"); }
    function x(t) { return pad.l + (t - tmin) / (tmax - tmin) * (width - pad.l - pad.r); }
    function y(v) { return pad.t + (ymax - v) / (ymax - ymin) * (height - pad.t - pad.b); }
    for (var i = 0; i <= 4; i++) {
      var v = ymin + (ymax - ymin) * i / 4;
      el("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), stroke: grid }, svg);
      el("text", { x: pad.l - 6, y: y(v) + font / 3, "text-anchor": "end", "font-size": font, fill: ink }, svg)
        .textContent = String(Math.round(v * 10000) / 10000);
    }
    [tmin, tmax].forEach(function (t, k) {
      el("text", { x: x(t), y: height - font, "text-anchor": k ? "end" : "start", "font-size": font, fill: ink }, svg)
        .textContent = new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    });
    if (data.cutoff) {
      el("text", { x: x(end), y: height - font, "text-anchor": "start", "font-size": font, fill: ink, dx: 6 }, svg)
        .textContent = "freeze";
    }
    series.forEach(function (s, k) {
      var color = s.baseline ? baselineColor : palette[k % palette.length];
      var d = "", last = null;
      s.points.forEach(function (p) {
        d += (d ? " H" + x(p.t) + " V" + y(p.score) : "M" + x(p.t) + " " + y(p.score));
        last = p;
      });
      d += " H" + x(end);
      el("path", { d: d, fill: "none", stroke: color, "stroke-width": Math.max(2.5, font / 5),
                   "stroke-dasharray": s.baseline ? "6 4" : "" }, svg);
      el("text", { x: x(end) + 6, y: y(last.score) + font / 3, fill: color, "font-size": font + 1 }, svg)
        .textContent = s.name;
    });
  }

  function mount(root, options) {
    options = options || {};
    var chart = root.querySelector("[data-progression-chart]") || root;
    var last = null;
    function load() {
      fetch(root.dataset.url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) { last = data; draw(chart, data, options); })
        .catch(function () {});
    }
    var resized = null;
    function redraw() {
      clearTimeout(resized);
      resized = setTimeout(function () { if (last) { draw(chart, last, options); } }, 200);
    }
    window.addEventListener("resize", redraw);
    /* A box that fills the screen's rest changes size as the board above it grows. */
    if (options.fill && window.ResizeObserver) { new ResizeObserver(redraw).observe(chart); }
    return { load: load };
  }

  window.ScoreProgression = { mount: mount, draw: draw };

  var board = document.getElementById("lb-progression");
  if (board) {
    var chart = mount(board, { height: 320 });
    chart.load();
    setInterval(chart.load, 60000);
  }
})();

/* The debrief's charts, in SVG, no library: the score histogram, scores against learning
 * rate and batch size (log x), scores by optimizer kind, the top five's loss curves with the
 * baseline's, and the shake-up as a slope chart. Data: the page's #debrief-data (built by
 * leaderboard/debrief.py under the visibility rule). Large type and thick lines, for the
 * meetup's projector. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d"];
  var BASELINE = "#6b7280";
  var source = document.getElementById("debrief-data");
  var root = document.getElementById("debrief");
  if (!source || !root) { return; }
  var data = JSON.parse(source.textContent);

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function fmt(v) {
    if (v === 0) { return "0"; }
    var a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) { return v.toExponential(1); }
    return String(Math.round(v * 1000) / 1000);
  }

  function frame(container, height, pad) {
    container.textContent = "";
    var width = container.clientWidth || 640;
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", height: height,
                          "class": "debrief-svg" }, container);
    return { svg: svg, width: width, height: height, pad: pad,
             x0: pad.l, x1: width - pad.r, y0: height - pad.b, y1: pad.t };
  }

  function empty(container, text) {
    container.textContent = "";
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = text;
    container.appendChild(p);
  }

  function linear(lo, hi, a, b) {
    if (hi === lo) { lo -= 1; hi += 1; }
    return function (v) { return a + (v - lo) / (hi - lo) * (b - a); };
  }

  function yAxis(f, lo, hi, y, label) {
    for (var i = 0; i <= 4; i++) {
      var v = lo + (hi - lo) * i / 4;
      el("line", { x1: f.x0, x2: f.x1, y1: y(v), y2: y(v), "class": "grid" }, f.svg);
      el("text", { x: f.x0 - 6, y: y(v) + 5, "text-anchor": "end", "class": "tick" }, f.svg)
        .textContent = fmt(v);
    }
    el("line", { x1: f.x0, x2: f.x0, y1: f.y1, y2: f.y0, "class": "axis" }, f.svg);
    el("line", { x1: f.x0, x2: f.x1, y1: f.y0, y2: f.y0, "class": "axis" }, f.svg);
    if (label) {
      el("text", { x: 14, y: (f.y0 + f.y1) / 2, "text-anchor": "middle", "class": "tick",
                   transform: "rotate(-90 14 " + (f.y0 + f.y1) / 2 + ")" }, f.svg).textContent = label;
    }
  }

  function xLabel(f, text) {
    el("text", { x: (f.x0 + f.x1) / 2, y: f.height - 6, "text-anchor": "middle", "class": "tick" }, f.svg)
      .textContent = text;
  }

  function range(values) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) { if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    return isFinite(lo) ? [lo, hi] : null;
  }

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  /* Score distribution: bars over equal-width bins, the baseline as a dashed line. */
  function distribution(container) {
    var d = data.distribution;
    if (!d.counts.length) { empty(container, "No private scores yet."); return; }
    var f = frame(container, 300, { l: 56, r: 16, t: 14, b: 44 });
    var lo = d.edges[0], hi = d.edges[d.edges.length - 1];
    if (lo === hi) { lo -= 1; hi += 1; }
    var x = linear(lo, hi, f.x0, f.x1);
    var peak = Math.max.apply(null, d.counts);
    var y = linear(0, peak, f.y0, f.y1);
    yAxis(f, 0, peak, y, "teams");
    d.counts.forEach(function (n, i) {
      var a = x(d.edges[i]), b = x(d.edges[i + 1] === undefined ? hi : d.edges[i + 1]);
      var bar = el("rect", { x: a + 1, y: y(n), width: Math.max(1, b - a - 2), height: f.y0 - y(n),
                             "class": "debrief-bar" }, f.svg);
      el("title", {}, bar).textContent = n + " team" + (n === 1 ? "" : "s") + ": " +
        fmt(d.edges[i]) + " to " + fmt(d.edges[i + 1]);
    });
    [lo, (lo + hi) / 2, hi].forEach(function (v, k) {
      el("text", { x: x(v), y: f.y0 + 18, "text-anchor": ["start", "middle", "end"][k], "class": "tick" }, f.svg)
        .textContent = fmt(v);
    });
    d.baselines.forEach(function (v) {
      var bx = x(clamp(v, lo, hi));
      el("line", { x1: bx, x2: bx, y1: f.y1, y2: f.y0, stroke: BASELINE, "stroke-width": 2.5,
                   "stroke-dasharray": "6 4" }, f.svg);
      el("text", { x: bx + 4, y: f.y1 + 12, "class": "tick" }, f.svg).textContent = "baseline";
    });
    xLabel(f, data.metric + " (private)" + (d.below || d.above ? " · " + (d.below + d.above) + " far off, not drawn" : ""));
  }

  /* Score against a positive quantity on a log axis; points beyond the value range sit on
   * its edge, hollow. */
  function scatter(container, s) {
    var xs = s.points.map(function (p) { return p[0]; });
    if (!xs.length) { empty(container, "No submission gives this figure."); return; }
    var f = frame(container, 300, { l: 64, r: 16, t: 14, b: 44 });
    var xr = range(xs.map(function (v) { return Math.log10(v); }));
    var lx0 = xr[0], lx1 = xr[1];
    if (lx1 - lx0 < 0.2) { lx0 -= 0.5; lx1 += 0.5; }
    var x = linear(lx0 - 0.05 * (lx1 - lx0), lx1 + 0.05 * (lx1 - lx0), f.x0, f.x1);
    var yr = s.y_range || [0, 1];
    var ylo = yr[0], yhi = yr[1];
    if (ylo === yhi) { ylo -= 1; yhi += 1; }
    var y = linear(ylo, yhi, f.y0, f.y1);
    yAxis(f, ylo, yhi, y, data.metric);
    for (var e = Math.ceil(lx0); e <= Math.floor(lx1); e++) {
      el("text", { x: x(e), y: f.y0 + 18, "text-anchor": "middle", "class": "tick" }, f.svg)
        .textContent = fmt(Math.pow(10, e));
    }
    if (Math.floor(lx1) < Math.ceil(lx0)) {
      [lx0, lx1].forEach(function (v, k) {
        el("text", { x: x(v), y: f.y0 + 18, "text-anchor": k ? "end" : "start", "class": "tick" }, f.svg)
          .textContent = fmt(Math.pow(10, v));
      });
    }
    s.points.forEach(function (p) {
      var off = p[1] < ylo || p[1] > yhi;
      var dot = el("circle", { cx: x(Math.log10(p[0])), cy: y(clamp(p[1], ylo, yhi)), r: 5,
                               "class": off ? "debrief-dot debrief-off" : "debrief-dot" }, f.svg);
      el("title", {}, dot).textContent = s.label + " " + fmt(p[0]) + ": " + fmt(p[1]);
    });
    xLabel(f, s.label + " (log scale)");
  }

  /* Score by optimizer kind: a column of dots per kind, its median as a bar. */
  function kinds(container) {
    var k = data.kinds;
    if (!k || !k.kinds.length) { empty(container, "No submission declared its optimizer."); return; }
    var f = frame(container, 300, { l: 64, r: 16, t: 14, b: 52 });
    var yr = k.y_range || [0, 1];
    var ylo = yr[0], yhi = yr[1];
    if (ylo === yhi) { ylo -= 1; yhi += 1; }
    var y = linear(ylo, yhi, f.y0, f.y1);
    yAxis(f, ylo, yhi, y, data.metric);
    var step = (f.x1 - f.x0) / k.kinds.length;
    k.kinds.forEach(function (kind, i) {
      var cx = f.x0 + step * (i + 0.5);
      var color = COLORS[i % COLORS.length];
      kind.scores.forEach(function (v, j) {
        var jitter = ((j * 37) % 21 - 10) / 10 * Math.min(step * 0.3, 24);
        var off = v < ylo || v > yhi;
        el("circle", { cx: cx + jitter, cy: y(clamp(v, ylo, yhi)), r: 5, fill: color,
                       "class": off ? "debrief-dot debrief-off" : "debrief-dot" }, f.svg);
      });
      if (kind.median !== null) {
        var my = y(clamp(kind.median, ylo, yhi));
        el("line", { x1: cx - Math.min(step * 0.4, 40), x2: cx + Math.min(step * 0.4, 40), y1: my, y2: my,
                     stroke: "#111827", "stroke-width": 3 }, f.svg);
      }
      el("text", { x: cx, y: f.y0 + 20, "text-anchor": "middle", "class": "tick" }, f.svg)
        .textContent = kind.kind;
      el("text", { x: cx, y: f.y0 + 38, "text-anchor": "middle", "class": "tick muted" }, f.svg)
        .textContent = kind.count + " run" + (kind.count === 1 ? "" : "s");
    });
  }

  /* Loss curves: one line per team, the baseline dashed; log scale on demand. */
  function curves(container, log) {
    var c = data.curves;
    var series = c.series.slice();
    if (c.baseline) { series.push({ label: c.baseline.label, x: c.baseline.x, y: c.baseline.y, baseline: true }); }
    if (!series.length) { empty(container, "No loss curve to show."); return; }
    var ok = function (v) { return v !== null && isFinite(v) && (!log || v > 0); };
    var tv = function (v) { return log ? Math.log10(v) : v; };
    var xr = range([].concat.apply([], series.map(function (s) { return s.x; })));
    var yr = range([].concat.apply([], series.map(function (s) { return s.y.filter(ok).map(tv); })));
    if (!xr || !yr) { empty(container, "No loss value to draw on this scale."); return; }
    var f = frame(container, 340, { l: 64, r: 16, t: 14, b: 44 });
    var x = linear(xr[0], xr[1], f.x0, f.x1);
    var y = linear(yr[0], yr[1], f.y0, f.y1);
    for (var i = 0; i <= 4; i++) {
      var v = yr[0] + (yr[1] - yr[0]) * i / 4;
      el("line", { x1: f.x0, x2: f.x1, y1: y(v), y2: y(v), "class": "grid" }, f.svg);
      el("text", { x: f.x0 - 6, y: y(v) + 5, "text-anchor": "end", "class": "tick" }, f.svg)
        .textContent = fmt(log ? Math.pow(10, v) : v);
      var xv = xr[0] + (xr[1] - xr[0]) * i / 4;
      el("text", { x: x(xv), y: f.y0 + 18, "text-anchor": "middle", "class": "tick" }, f.svg)
        .textContent = fmt(Math.round(xv));
    }
    el("line", { x1: f.x0, x2: f.x1, y1: f.y0, y2: f.y0, "class": "axis" }, f.svg);
    el("line", { x1: f.x0, x2: f.x0, y1: f.y1, y2: f.y0, "class": "axis" }, f.svg);
    xLabel(f, c.x_label + (log ? " · loss on a log scale" : ""));
    var legend = document.createElement("ul");
    legend.className = "chart-legend";
    series.forEach(function (s, n) {
      var color = s.baseline ? BASELINE : COLORS[n % COLORS.length];
      var d = "", pen = false;
      s.y.forEach(function (v, j) {
        if (!ok(v)) { pen = false; return; }
        d += (pen ? "L" : "M") + x(s.x[j]).toFixed(1) + " " + y(tv(v)).toFixed(1);
        pen = true;
      });
      var path = el("path", { d: d, fill: "none", stroke: color, "stroke-width": s.baseline ? 2.5 : 3,
                              "stroke-dasharray": s.baseline ? "7 5" : "", "class": "series" }, f.svg);
      el("title", {}, path).textContent = s.label;
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = "swatch"; sw.style.background = color;
      li.appendChild(sw); li.appendChild(document.createTextNode(" " + s.label));
      legend.appendChild(li);
    });
    container.appendChild(legend);
  }

  /* Shake-up: each team's public rank (left) joined to its private rank (right). */
  function slope(container) {
    var rows = data.shakeup.rows;
    if (!rows.length) { empty(container, "No team has both a public and a private score."); return; }
    var maxRank = 1;
    rows.forEach(function (r) { maxRank = Math.max(maxRank, r.public_rank, r.private_rank); });
    var height = Math.max(220, Math.min(640, 34 * Math.min(maxRank, 18) + 40));
    var f = frame(container, height, { l: 120, r: 260, t: 34, b: 16 });
    var y = linear(1, maxRank, f.y1, f.y0);
    el("text", { x: f.x0, y: 16, "text-anchor": "middle", "class": "tick" }, f.svg).textContent = "public";
    el("text", { x: f.x1, y: 16, "text-anchor": "middle", "class": "tick" }, f.svg).textContent = "private";
    rows.forEach(function (r) {
      var cls = r.move > 0 ? "debrief-up" : (r.move < 0 ? "debrief-down" : "debrief-same");
      el("line", { x1: f.x0, y1: y(r.public_rank), x2: f.x1, y2: y(r.private_rank), "class": "debrief-slope " + cls }, f.svg);
      el("circle", { cx: f.x0, cy: y(r.public_rank), r: 5, "class": cls }, f.svg);
      el("circle", { cx: f.x1, cy: y(r.private_rank), r: 5, "class": cls }, f.svg);
      el("text", { x: f.x0 - 10, y: y(r.public_rank) + 5, "text-anchor": "end", "class": "tick" }, f.svg)
        .textContent = r.public_rank;
      el("text", { x: f.x1 + 10, y: y(r.private_rank) + 5, "class": "tick debrief-team" }, f.svg)
        .textContent = r.private_rank + ". " + r.team + (r.move ? (r.move > 0 ? "  ▲" + r.move : "  ▼" + (-r.move)) : "");
    });
  }

  function drawAll() {
    var log = document.getElementById("debrief-log");
    root.querySelectorAll("[data-chart]").forEach(function (node) {
      var kind = node.dataset.chart;
      if (kind === "distribution") { distribution(node); }
      else if (kind === "scatter") { scatter(node, data.scatters[parseInt(node.dataset.index, 10)]); }
      else if (kind === "kinds") { kinds(node); }
      else if (kind === "curves") { curves(node, log && log.checked); }
      else if (kind === "slope") { slope(node); }
    });
  }

  var logBox = document.getElementById("debrief-log");
  if (logBox) {
    /* Loss spans orders of magnitude once training works: start on a log scale then. */
    var all = [].concat.apply([], data.curves.series.map(function (s) { return s.y; }));
    var r = range(all);
    logBox.checked = !!(r && r[0] > 0 && r[1] / r[0] > 100);
    logBox.addEventListener("change", drawAll);
  }
  drawAll();
  var resized = null;
  window.addEventListener("resize", function () { clearTimeout(resized); resized = setTimeout(drawAll, 200); });
})();

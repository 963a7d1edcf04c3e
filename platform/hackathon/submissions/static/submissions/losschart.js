/* A small SVG line chart of loss curves: several series, linear or log scale, gaps for
   diverged points (null). No library: window.LossChart.draw(el, series, {log}). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d"];

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function fmt(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
    return String(Math.round(v * 1000) / 1000);
  }

  function draw(container, series, options) {
    var log = !!(options && options.log);
    var width = container.clientWidth || 640, height = 280;
    var pad = { l: 64, r: 16, t: 12, b: 36 };
    container.textContent = "";
    var usable = series.filter(function (s) { return s.values && s.values.length; });
    if (!usable.length) return false;
    var xmax = 1, ymin = Infinity, ymax = -Infinity;
    usable.forEach(function (s) {
      xmax = Math.max(xmax, s.values.length);
      s.values.forEach(function (v) {
        if (v === null || !isFinite(v) || (log && v <= 0)) return;
        var y = log ? Math.log10(v) : v;
        ymin = Math.min(ymin, y); ymax = Math.max(ymax, y);
      });
    });
    if (!isFinite(ymin)) return false;
    if (ymin === ymax) { ymin -= 1; ymax += 1; }
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", height: height,
      "class": "loss-svg" }, container);
    function X(i) { return pad.l + (width - pad.l - pad.r) * (xmax > 1 ? i / (xmax - 1) : 0); }
    function Y(v) { return pad.t + (height - pad.t - pad.b) * (1 - (v - ymin) / (ymax - ymin)); }
    // Axes and ticks.
    el("line", { x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b, "class": "axis" }, svg);
    el("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b, "class": "axis" }, svg);
    for (var t = 0; t <= 4; t++) {
      var yv = ymin + (ymax - ymin) * t / 4;
      var ty = Y(yv);
      el("line", { x1: pad.l, y1: ty, x2: width - pad.r, y2: ty, "class": "grid" }, svg);
      el("text", { x: pad.l - 6, y: ty + 4, "text-anchor": "end", "class": "tick" }, svg)
        .textContent = fmt(log ? Math.pow(10, yv) : yv);
      var xi = Math.round((xmax - 1) * t / 4);
      el("text", { x: X(xi), y: height - pad.b + 16, "text-anchor": "middle", "class": "tick" }, svg)
        .textContent = String(xi + 1);
    }
    el("text", { x: (width + pad.l) / 2, y: height - 4, "text-anchor": "middle", "class": "tick" }, svg)
      .textContent = "epoch";
    usable.forEach(function (s, n) {
      var d = "", pen = false;
      s.values.forEach(function (v, i) {
        if (v === null || !isFinite(v) || (log && v <= 0)) { pen = false; return; }
        d += (pen ? "L" : "M") + X(i).toFixed(1) + " " + Y(log ? Math.log10(v) : v).toFixed(1);
        pen = true;
      });
      var path = el("path", { d: d, fill: "none", stroke: COLORS[n % COLORS.length],
        "stroke-width": n === 0 ? 2.5 : 1.5, "class": "series" }, svg);
      el("title", {}, path).textContent = s.label;
    });
    var legend = document.createElement("ul");
    legend.className = "chart-legend";
    usable.forEach(function (s, n) {
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = "swatch"; sw.style.background = COLORS[n % COLORS.length];
      li.appendChild(sw); li.appendChild(document.createTextNode(" " + s.label + " (" + s.values.length + " epochs)"));
      legend.appendChild(li);
    });
    container.appendChild(legend);
    return true;
  }

  window.LossChart = { draw: draw };
})();

/* The public leader's training curves against the baseline's, on an optimizer challenge:
 * an SVG line chart (no library) of /leaderboard/<slug>/curves.json, which applies the
 * visibility rule (the frozen board's leader while frozen, private instances only with the
 * private board). X: examples processed; Y: loss, log scale by default. Thin lines: the
 * training loss at every step; thick: the validation loss (held between measurements);
 * the baseline dashed; the target, on a budget-to-target challenge, dotted. Per instance or
 * the mean of the instances. Redrawn once a minute, like the score progression. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var LEADER = "#2563eb", BASELINE = "#6b7280", TARGET = "#dc2626";
  var root = document.getElementById("lb-curves");
  if (!root) { return; }
  var chart = root.querySelector(".lb-curves-chart");
  var picker = root.querySelector("[data-curves-instance]");
  var logBox = root.querySelector("[data-curves-log]");
  var data = null;

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

  function held(points, xs) {
    // Validation points [examples, loss] held as a step over the x values `xs`.
    var out = [], j = 0, current = null;
    xs.forEach(function (x) {
      while (j < points.length && points[j][0] <= x) { current = points[j][1]; j++; }
      out.push(current);
    });
    return out;
  }

  function seriesOf(run, choice) {
    // [{xs, ys, kind}] of one run for the chosen view ("mean" or an instance index).
    if (!run) { return []; }
    if (choice === "mean") {
      if (!run.mean) { return []; }
      return [{ xs: run.mean.examples, ys: run.mean.train, kind: "train" },
              { xs: run.mean.examples, ys: run.mean.validation, kind: "validation" }];
    }
    var inst = run.instances.filter(function (i) { return String(i.index) === choice; })[0];
    if (!inst) { return []; }
    var xs = [0].concat(inst.train.examples);
    var validation = inst.validation.length ? held(inst.validation, xs) : [];
    return [{ xs: inst.train.examples, ys: inst.train.loss, kind: "train" },
            { xs: xs, ys: validation, kind: "validation" }];
  }

  function options() {
    var seen = {}, list = [];
    [data.leader, data.baseline].forEach(function (run) {
      (run ? run.instances : []).forEach(function (i) {
        if (!seen[i.index]) { seen[i.index] = true; list.push(i); }
      });
    });
    list.sort(function (a, b) { return a.index - b.index; });
    var keep = picker.value;
    picker.textContent = "";
    var mean = document.createElement("option");
    mean.value = "mean";
    mean.textContent = "mean of the instances";
    picker.appendChild(mean);
    list.forEach(function (i) {
      var o = document.createElement("option");
      o.value = String(i.index);
      o.textContent = "instance " + (i.index + 1) + " (" + i.part + ")";
      picker.appendChild(o);
    });
    if (keep && (keep === "mean" || seen[keep])) { picker.value = keep; }
  }

  function draw() {
    chart.textContent = "";
    if (!data || !data.available) { return; }
    var log = logBox.checked, choice = picker.value || "mean";
    var runs = [
      { run: data.leader, color: LEADER, dash: "", label: data.leader ? "leader: " + data.leader.name : "" },
      { run: data.baseline, color: BASELINE, dash: "6 4", label: "baseline" }
    ].filter(function (r) { return r.run; });
    var lines = [];
    runs.forEach(function (r) {
      seriesOf(r.run, choice).forEach(function (s) {
        lines.push({ xs: s.xs, ys: s.ys, kind: s.kind, color: r.color, dash: r.dash, label: r.label });
      });
    });
    var xmax = 1, ymin = Infinity, ymax = -Infinity;
    function usable(v) { return v !== null && isFinite(v) && (!log || v > 0); }
    lines.forEach(function (s) {
      s.xs.forEach(function (x, i) {
        if (!usable(s.ys[i])) { return; }
        var y = log ? Math.log10(s.ys[i]) : s.ys[i];
        xmax = Math.max(xmax, x); ymin = Math.min(ymin, y); ymax = Math.max(ymax, y);
      });
    });
    var target = data.target;
    if (target !== null && target !== undefined && (!log || target > 0) && isFinite(ymin)) {
      var ty = log ? Math.log10(target) : target;
      ymin = Math.min(ymin, ty); ymax = Math.max(ymax, ty);
    }
    if (!isFinite(ymin)) {
      chart.textContent = data.leader || data.baseline ? "No curve to show for this view yet."
        : "No scored run yet.";
      return;
    }
    if (ymin === ymax) { ymin -= 1; ymax += 1; }
    var width = chart.clientWidth || 720, height = 300, pad = { l: 64, r: 16, t: 12, b: 36 };
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", height: height,
                          "class": "lb-curves-svg", "aria-hidden": "true" }, chart);
    function X(x) { return pad.l + x / xmax * (width - pad.l - pad.r); }
    function Y(v) { return pad.t + (ymax - v) / (ymax - ymin) * (height - pad.t - pad.b); }
    el("line", { x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b, stroke: "#9aa3af" }, svg);
    el("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b, stroke: "#9aa3af" }, svg);
    for (var t = 0; t <= 4; t++) {
      var yv = ymin + (ymax - ymin) * t / 4;
      el("line", { x1: pad.l, x2: width - pad.r, y1: Y(yv), y2: Y(yv), stroke: "#e5e7eb" }, svg);
      el("text", { x: pad.l - 6, y: Y(yv) + 4, "text-anchor": "end", "font-size": 12 }, svg)
        .textContent = fmt(log ? Math.pow(10, yv) : yv);
      var xv = xmax * t / 4;
      el("text", { x: X(xv), y: height - pad.b + 16, "text-anchor": t === 4 ? "end" : "middle",
                   "font-size": 12 }, svg).textContent = fmt(Math.round(xv));
    }
    el("text", { x: (width + pad.l) / 2, y: height - 4, "text-anchor": "middle", "font-size": 12 }, svg)
      .textContent = "examples processed";
    if (target !== null && target !== undefined && (!log || target > 0)) {
      var yt = Y(log ? Math.log10(target) : target);
      el("line", { x1: pad.l, x2: width - pad.r, y1: yt, y2: yt, stroke: TARGET,
                   "stroke-dasharray": "2 3", "data-series": "target" }, svg);
    }
    lines.forEach(function (s) {
      var d = "", pen = false;
      s.xs.forEach(function (x, i) {
        var v = s.ys[i];
        if (!usable(v)) { pen = false; return; }
        d += (pen ? "L" : "M") + X(x).toFixed(1) + " " + Y(log ? Math.log10(v) : v).toFixed(1);
        pen = true;
      });
      if (!d) { return; }
      var path = el("path", { d: d, fill: "none", stroke: s.color,
                              "stroke-width": s.kind === "validation" ? 2.5 : 1.2,
                              "stroke-dasharray": s.dash, "stroke-opacity": s.kind === "train" ? 0.6 : 1,
                              "data-series": (s.color === LEADER ? "leader-" : "baseline-") + s.kind }, svg);
      el("title", {}, path).textContent = s.label + ", " + s.kind + " loss";
    });
    var legend = document.createElement("ul");
    legend.className = "chart-legend";
    runs.forEach(function (r) {
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = r.color;
      var score = r.run.score === null || r.run.score === undefined ? "" : " (score " + fmt(r.run.score) + ")";
      li.appendChild(sw);
      li.appendChild(document.createTextNode(" " + r.label + score + (r.dash ? ", dashed" : "")));
      legend.appendChild(li);
    });
    if (target !== null && target !== undefined) {
      var li = document.createElement("li");
      li.textContent = "dotted: the target, " + fmt(target);
      legend.appendChild(li);
    }
    chart.appendChild(legend);
  }

  function load() {
    fetch(root.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (got) { data = got; options(); draw(); })
      .catch(function () {});
  }
  picker.addEventListener("change", draw);
  logBox.addEventListener("change", draw);
  load();
  setInterval(load, 60000);
})();

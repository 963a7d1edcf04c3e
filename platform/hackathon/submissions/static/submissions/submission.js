/* The submission page, live: status from the server-sent stream (no polling), the loss
   curve growing while the solution trains, overlays of the team's other submissions. */
(function () {
  "use strict";
  var statusEl = document.getElementById("submission-status");
  var box = document.getElementById("live-status");
  var chart = document.getElementById("loss-chart");
  if (!statusEl || !box || !chart) return;
  var status = JSON.parse(statusEl.textContent);
  var overlays = {};  // id -> {label, values}
  var logBox = document.getElementById("log-scale");
  var timer = null;

  function text(id, value) { var n = document.getElementById(id); if (n) n.textContent = value; }
  function num(v, digits, unit) { return v === null || v === undefined ? "—" : Number(v).toFixed(digits) + (unit || ""); }

  function redraw() {
    var series = [{ label: "#" + status.id, values: status.loss_curve || [] }];
    Object.keys(overlays).forEach(function (id) { series.push(overlays[id]); });
    var drawn = window.LossChart.draw(chart, series, { log: logBox && logBox.checked });
    var empty = document.getElementById("loss-empty");
    if (empty) empty.hidden = drawn;
  }

  function badge() {
    var b = document.getElementById("state-badge");
    if (!b) return;
    var cls = "badge-muted", label = status.state;
    if (status.disqualified) { cls = "badge-bad"; label = "disqualified"; }
    else if (status.state === "running") cls = "badge-warn";
    else if (status.state === "finished") {
      label = status.verdict_label || status.verdict;
      cls = status.verdict === "scored" ? "badge-ok" : (status.verdict === "internal_error" ? "badge-muted" : "badge-bad");
    }
    b.innerHTML = "";
    var span = document.createElement("span");
    span.className = "badge " + cls; span.textContent = label;
    b.appendChild(span);
  }

  function line() {
    var el = document.getElementById("status-line");
    if (!el) return;
    clearInterval(timer);
    if (status.state === "queued") {
      el.textContent = "Waiting in the queue" + (status.queue_position ? ": position " + status.queue_position + "." : ".");
    } else if (status.state === "running") {
      var started = status.started_at ? Date.parse(status.started_at) : Date.now();
      var tick = function () { el.textContent = "Grading: running for " + Math.max(0, Math.round((Date.now() - started) / 1000)) + " s."; };
      tick(); timer = setInterval(tick, 1000);
    } else {
      el.textContent = status.verdict_label || status.verdict || "Finished";
    }
    var msg = document.getElementById("verdict-message");
    if (msg) { msg.textContent = status.message || ""; msg.hidden = !status.message; }
  }

  function facts() {
    /* Scores arrive rounded to the challenge's display precision, with their text. */
    var score = status.public_score_text || "—";
    if (status.public_ci && status.public_ci[0] !== null) score += " (95% CI " + String(status.public_ci[0]) + " – " + String(status.public_ci[1]) + ")";
    text("public-score", score);
    if ("private_score" in status) text("private-score", status.private_score_text || "—");
    text("fit-seconds", num(status.fit_seconds, 3, " s"));
    text("predict-seconds", num(status.predict_seconds, 3, " s"));
    text("peak-memory", num(status.peak_memory_mb, 1, " MB"));
  }

  function diagnostics() {
    var list = document.getElementById("diagnostics"), wrap = document.getElementById("diagnostics-box");
    if (!list || !wrap) return;
    var items = status.diagnostics || [];
    list.textContent = "";
    items.forEach(function (d) {
      var li = document.createElement("li"), strong = document.createElement("strong");
      strong.textContent = d.title || d.code || "";
      li.appendChild(strong);
      if (d.detail) li.appendChild(document.createTextNode(": " + d.detail));
      list.appendChild(li);
    });
    wrap.hidden = !items.length;
  }

  function extras() {
    if (status.state !== "finished") return;
    text("stdout", status.stdout || "(empty)");
    text("stderr", status.stderr || "(empty)");
    var select = document.getElementById("final-select"), hint = document.getElementById("final-hint");
    var selectable = status.verdict === "scored" && !status.disqualified;
    if (select) select.hidden = !selectable;
    if (hint) hint.hidden = selectable;
  }

  // Optimizer track: one block per instance with its trusted curves (training loss per step,
  // validation loss at intervals), live while it runs and from the stored result after.
  var live = {};  // instance index -> {part, steps, examples, budget, loss_curve, validation}

  function stretch(validation, examples) {
    // Validation points (examples, loss) held as a step line over the training curve's x.
    if (!validation || !validation.length || !examples || !examples.length) return [];
    var out = [], j = 0, current = null;
    examples.forEach(function (e) {
      while (j < validation.length && validation[j][0] <= e) { current = validation[j][1]; j++; }
      out.push(current);
    });
    return out;
  }

  function instanceBlock(container, inst, fromLive) {
    var div = document.createElement("div");
    div.className = "instance";
    div.dataset.index = inst.index;
    var h = document.createElement("h3");
    h.textContent = "Instance " + (inst.index + 1) + " (" + inst.part + ")" + (fromLive && !inst.done ? ": running" : "");
    div.appendChild(h);
    var p = document.createElement("p");
    p.textContent = (inst.score !== undefined && inst.score !== null ? "Score " + num(inst.score, 6) + " · " : "") +
      (inst.steps === undefined ? "running (a private instance shows no figures before the private board)"
        : inst.steps + " steps · " + inst.examples + " of " + inst.budget + " examples") + (inst.ended ? " · ended: " + inst.ended : "");
    div.appendChild(p);
    var losses = fromLive ? inst.loss_curve : (inst.train || {}).loss;
    var xs = fromLive ? inst.curve_examples : (inst.train || {}).examples;
    if (losses && losses.length) {
      var chartBox = document.createElement("div");
      chartBox.className = "loss-chart instance-chart";
      chartBox.setAttribute("role", "img");
      chartBox.setAttribute("aria-label", "Training and validation loss of instance " + (inst.index + 1));
      div.appendChild(chartBox);
      container.appendChild(div);
      window.LossChart.draw(chartBox, [
        { label: "training loss", values: losses },
        { label: "validation loss", values: stretch(inst.validation, xs) }
      ], { log: logBox && logBox.checked });
    } else {
      container.appendChild(div);
    }
    (inst.diagnostics || []).forEach(function (d) {
      var li = document.createElement("p"); li.className = "diagnostic";
      li.textContent = (d.title || d.code) + ": " + (d.detail || "");
      div.appendChild(li);
    });
  }

  function instances() {
    var container = document.getElementById("instances");
    if (!container || status.track !== "optimizer") return;
    container.textContent = "";
    var stored = status.instances || [];
    var seen = {};
    stored.forEach(function (inst) { seen[inst.index] = true; instanceBlock(container, inst, false); });
    if (status.state !== "finished") {
      Object.keys(live).forEach(function (k) { if (!seen[k]) instanceBlock(container, live[k], true); });
    }
    if (!container.children.length) {
      var p = document.createElement("p"); p.className = "muted"; p.textContent = "No instance has started yet.";
      container.appendChild(p);
    }
  }

  function render() { badge(); line(); facts(); diagnostics(); extras(); redraw(); instances(); }

  // Bumped by every pushed event about this submission: an answer to a fetch that started
  // before the newest event may predate it (e.g. "queued" arriving after "running"), so it is
  // dropped and asked again rather than allowed to move the page backwards.
  var pushed = 0;

  function refresh() {
    var asked = pushed;
    return fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (asked !== pushed) return refresh();
        status = data; render();
      });
  }

  function onEvent(msg) {
    var payload;
    try { payload = JSON.parse(msg.data); } catch (e) { return; }
    var data = payload.data || {};
    if (payload.topic && payload.topic.indexOf("submission:") !== 0) {
      if (status.state === "queued") refresh();  // someone else's result moved the queue
      return;
    }
    pushed += 1;
    if (payload.event === "progress" && status.state !== "finished") {
      if (data.instance !== undefined) {
        live[data.instance] = data;
        if (data.loss_curve) status.loss_curve = data.loss_curve;
        instances();
      } else {
        status.loss_curve = data.loss_curve || [];
      }
      redraw();
    } else if (payload.event === "state") {
      status.state = data.state;
      if (data.started_at) status.started_at = data.started_at;
      render();
      if (data.state === "queued") refresh();
    } else {
      refresh();  // finished, disqualified, anything else: take the whole state
    }
  }

  function connect() {
    var url = box.dataset.liveUrl;
    if (!url || !window.EventSource || status.state === "finished") return;
    if (status.state === "queued" && status.challenge_topic) url += "&topic=" + encodeURIComponent(status.challenge_topic);
    var source = new EventSource(url);
    source.onmessage = onEvent;
    source.onopen = function () { refresh(); };  // catch up on anything before the stream
  }

  if (logBox) logBox.addEventListener("change", function () { redraw(); instances(); });
  Array.prototype.forEach.call(document.querySelectorAll(".overlay-choice"), function (box) {
    box.addEventListener("change", function () {
      var id = box.value;
      if (!box.checked) { delete overlays[id]; redraw(); return; }
      fetch(chart.dataset.curvesUrl + "?ids=" + encodeURIComponent(id), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          (data.curves || []).forEach(function (c) { overlays[c.id] = { label: c.label, values: c.loss_curve }; });
          redraw();
        });
    });
  });
  window.addEventListener("resize", redraw);
  render();
  connect();
})();

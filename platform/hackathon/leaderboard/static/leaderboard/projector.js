/* Projector view: the public board in large type, animated as teams enter and move up,
 * a countdown to the freeze or the end, and the final standings revealed top-down. */
(function () {
  "use strict";
  var list = document.getElementById("pj-board");
  if (!list || !window.HackathonLive) { return; }
  var rowsShown = parseInt(list.dataset.rows, 10) || 20;
  var baseUrl = list.dataset.url + "?as=public&page_size=" + rowsShown;
  var previousRanks = null;  /* team id -> rank at the last render */
  var phase = {};
  var revealing = false;
  var status = document.getElementById("pj-status");

  function rowElement(row) {
    var li = document.createElement("li");
    li.className = "pj-row" + (row.is_baseline ? " pj-baseline" : "") + (row.statistically_tied ? " pj-tied" : "");
    if (row.team_id) { li.dataset.team = row.team_id; }
    var rank = document.createElement("span"); rank.className = "pj-rank";
    rank.textContent = row.rank ? row.rank : "—";
    var name = document.createElement("span"); name.className = "pj-name";
    name.textContent = row.team + (row.is_baseline ? " (baseline)" : "");
    var score = document.createElement("span"); score.className = "pj-score pj-mono";
    score.textContent = row.score_text;  /* formatted by the server: one rule everywhere */
    var entries = document.createElement("span"); entries.className = "pj-entries";
    entries.textContent = row.entries === null ? "" : row.entries + (row.entries === 1 ? " entry" : " entries");
    li.append(rank, name, score, entries);
    return li;
  }

  function render(data) {
    var oldBoxes = {};
    list.querySelectorAll("[data-team]").forEach(function (el) {
      oldBoxes[el.dataset.team] = el.getBoundingClientRect().top;
    });
    var ranks = {};
    var fragment = document.createDocumentFragment();
    data.rows.forEach(function (row) {
      var li = rowElement(row);
      if (row.team_id) {
        ranks[row.team_id] = row.rank;
        if (previousRanks) {
          var before = previousRanks[row.team_id];
          if (before === undefined) { li.classList.add("pj-enter"); }
          else if (row.rank < before) { li.classList.add("pj-up"); }
        }
      }
      fragment.appendChild(li);
    });
    list.replaceChildren(fragment);
    /* FLIP: slide each row from where it was to where it is now. */
    list.querySelectorAll("[data-team]").forEach(function (el) {
      var top = oldBoxes[el.dataset.team];
      if (top === undefined) { return; }
      var delta = top - el.getBoundingClientRect().top;
      if (!delta) { return; }
      el.style.transform = "translateY(" + delta + "px)";
      el.style.transition = "none";
      requestAnimationFrame(function () {
        el.style.transition = "transform 700ms ease";
        el.style.transform = "";
      });
    });
    previousRanks = ranks;
    status.textContent = data.frozen ? "Frozen — standings as at the freeze" : "";
  }

  function load() {
    if (revealing) { return; }
    fetch(baseUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        /* A refresh that was in flight when the reveal began must not overwrite it. */
        if (data && !revealing) { phase = data.phase || {}; render(data); }
      });
  }
  var refresh = HackathonLive.coalesce(load, 500);

  /* The progression chart under the board: what a visitor may see (as=public), redrawn on
   * the same live hints, at most every 5 s, and once a minute so the lines run on. */
  var chartBox = document.getElementById("pj-progression");
  var chart = chartBox && window.ScoreProgression
    ? window.ScoreProgression.mount(chartBox, { dark: true, fill: true, font: Math.max(14, window.innerWidth / 70) })
    : null;
  var refreshChart = chart ? HackathonLive.coalesce(chart.load, 5000) : function () {};

  function playReveal() {
    revealing = true;
    fetch(list.dataset.url + "?as=public&kind=private&page_size=" + rowsShown, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { revealing = false; load(); return; }
        status.textContent = "Final standings";
        list.replaceChildren();
        var i = 0;
        (function next() {
          if (i >= data.rows.length) { revealing = false; previousRanks = null; return; }
          var li = rowElement(data.rows[i++]);
          li.classList.add("pj-enter");
          list.appendChild(li);
          setTimeout(next, 1500);
        })();
      });
  }

  function tickClock() {
    var now = Date.now();
    var label = "", target = null;
    var freeze = phase.freeze_at ? Date.parse(phase.freeze_at) : null;
    var end = phase.end_at ? Date.parse(phase.end_at) : null;
    if (freeze && now < freeze) { label = "Freeze in"; target = freeze; }
    else if (end && now < end) { label = "Ends in"; target = end; }
    else if (end) { label = phase.revealed_at ? "Final" : "Finished"; }
    document.getElementById("pj-countdown-label").textContent = label;
    var out = "";
    if (target) {
      var s = Math.max(0, Math.floor((target - now) / 1000));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
      out = (h ? h + ":" : "") + String(m).padStart(2, "0") + ":" + String(sec).padStart(2, "0");
    }
    document.getElementById("pj-countdown").textContent = out;
  }

  HackathonLive.subscribe(list.dataset.topic, function (event, data) {
    refreshChart();
    if (event === "phase" && data.phase === "revealed") { playReveal(); return; }
    refresh();
  }, {
    url: list.dataset.liveUrl,
    onStatus: function (state) {
      document.getElementById("pj-live").textContent = state === "open" ? "live" : state;
      if (state === "open") { refresh(); refreshChart(); }
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "f") { document.documentElement.requestFullscreen && document.documentElement.requestFullscreen(); }
    if (e.key === "r" && phase.revealed_at) { playReveal(); }
  });
  setInterval(tickClock, 1000);
  if (chart) { setInterval(chart.load, 60000); }
  load();
  refreshChart();
})();

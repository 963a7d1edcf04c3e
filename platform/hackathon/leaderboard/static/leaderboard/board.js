/* Live leaderboard page: on each hint, refetch this viewer's fragment of the current page. */
(function () {
  "use strict";
  var board = document.getElementById("lb-board");
  if (!board || !window.HackathonLive) { return; }
  var status = document.querySelector("[data-live-status]");
  var page = new URLSearchParams(location.search).get("page") || "1";

  var refresh = HackathonLive.coalesce(function () {
    fetch(board.dataset.fragmentUrl + "&page=" + encodeURIComponent(page), {
      credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
    }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (html !== null) { board.innerHTML = html; board.dispatchEvent(new Event("lb:updated")); }
    });
  }, 300);

  HackathonLive.subscribe(board.dataset.topic, function (event) {
    if (event === "phase") { location.reload(); return; }
    if (event === "leaderboard") { refresh(); }
  }, {
    onStatus: function (state) {
      if (!status) { return; }
      status.textContent = state === "open" ? "live" : state;
      status.dataset.state = state;
      if (state === "open") { refresh(); }  /* catch up after a reconnect */
    }
  });

})();

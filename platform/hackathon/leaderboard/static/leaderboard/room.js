/* The organizers' room view: refetch the server-rendered body when a result arrives
 * (a "leaderboard" hint on the organizers' channel, with its verdict and diagnostics) or
 * a submission is queued (a "room" event there), and once a minute so windows move on. */
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root || !window.HackathonLive) { return; }
  var status = document.getElementById("room-live");
  function refresh() {
    fetch(root.dataset.fragmentUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) { root.innerHTML = html; })
      .catch(function () { if (status) { status.textContent = "(update failed; retrying)"; } });
  }
  var refreshSoon = window.HackathonLive.coalesce(refresh, 1000);
  var organizers = root.dataset.topic + ":organizers";
  window.HackathonLive.subscribe(root.dataset.topic, function (event, data, topic) {
    if (topic === organizers && (event === "leaderboard" || event === "room" || event === "phase")) {
      refreshSoon();
    }
  }, {
    url: root.dataset.liveUrl,
    onStatus: function (state) {
      if (status) { status.textContent = state === "open" ? "(live)" : "(" + state + "…)"; }
    }
  });
  setInterval(refreshSoon, 60000);
})();

/* HackathonLive: server-pushed events (Server-Sent Events) for any page.
 *
 *   var sub = HackathonLive.subscribe("challenge:3", function (event, data, topic) { ... });
 *   sub.close();
 *
 * One EventSource per subscription to /leaderboard/live/?topic=...; the browser
 * reconnects by itself and sends Last-Event-ID, so the server replays what was missed.
 * `topic` may be an array to follow several topics on one connection.
 * Options: {url: "/leaderboard/live/", onStatus: function (state) {}} where state is
 * "open", "reconnecting" or "closed".
 */
(function (global) {
  "use strict";
  var DEFAULT_URL = "/leaderboard/live/";

  function subscribe(topic, handler, options) {
    options = options || {};
    var topics = Array.isArray(topic) ? topic : [topic];
    var query = topics.map(function (t) { return "topic=" + encodeURIComponent(t); }).join("&");
    var source = new EventSource((options.url || DEFAULT_URL) + "?" + query);
    var status = options.onStatus || function () {};
    source.onopen = function () { status("open"); };
    source.onerror = function () {
      status(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    };
    source.onmessage = function (message) {
      var parsed;
      try { parsed = JSON.parse(message.data); } catch (err) { return; }
      try { handler(parsed.event, parsed.data || {}, parsed.topic); } catch (err) {
        if (global.console) { global.console.error(err); }
      }
    };
    return { source: source, close: function () { source.close(); status("closed"); } };
  }

  /* Run fn at most once per `ms`, and once more after the last call (trailing edge). */
  function coalesce(fn, ms) {
    var timer = null, again = false;
    return function () {
      if (timer) { again = true; return; }
      fn();
      timer = setTimeout(function tick() {
        if (again) { again = false; fn(); timer = setTimeout(tick, ms); } else { timer = null; }
      }, ms);
    };
  }

  global.HackathonLive = { subscribe: subscribe, coalesce: coalesce };
})(window);

/* Live updates: one Socket.IO connection per page; elements with data-live-room="kind:id,..." join those
   rooms (the server checks each join like the matching HTTP read). Every event the server sends is
   re-dispatched as a DOM event named "matchmaker:<event>", so a new kind of event needs no edit here;
   each page's script decides what to do with the ones it cares about. The notification badge is kept
   here, and after a reconnect the server replays the notifications stored meanwhile. */
(function () {
  "use strict";
  if (typeof io === "undefined") { return; }
  var body = document.body;
  var lastSeen = Number(body.dataset.notificationsAfter || 0);
  var socket = io({
    transports: ["websocket", "polling"],
    auth: function (cb) { cb({ notifications_after: lastSeen }); }
  });
  window.matchmakerSocket = socket;

  function joinRooms() {
    document.querySelectorAll("[data-live-room]").forEach(function (el) {
      el.dataset.liveRoom.split(",").filter(Boolean).forEach(function (spec) {
        var parts = spec.split(":");
        socket.emit("join", { room: parts[0], id: Number(parts[1]) }, function (ack) {
          if (ack && ack.ok) { el.dataset.liveJoined = (el.dataset.liveJoined || "") + spec + ";"; }
        });
      });
    });
  }
  // After any gap (a dropped connection, or the server saying its message queue was away) the page
  // may have missed events: it reconnects, which replays the notifications, and then re-reads what it
  // shows. A page that can refresh itself handles "matchmaker:stale" and calls preventDefault(); a
  // live page that cannot is reloaded.
  var connectedBefore = false;
  socket.on("connect", function () {
    joinRooms();
    if (connectedBefore) {
      var stale = new CustomEvent("matchmaker:stale", { cancelable: true });
      if (document.dispatchEvent(stale) && document.querySelector("[data-live-room]")) { location.reload(); }
    }
    connectedBefore = true;
  });
  socket.on("resync", function () {
    // Spread the reconnects of many pages over a moment instead of all at once.
    setTimeout(function () { socket.disconnect(); socket.connect(); }, Math.random() * 1500);
  });
  socket.on("session_ended", function () { socket.disconnect(); });
  socket.onAny(function (name, payload) {
    document.dispatchEvent(new CustomEvent("matchmaker:" + name, { detail: payload }));
  });

  // The unread badge, and the list on the notifications page (rows come from the server, rendered).
  var badge = document.getElementById("unread-count");
  var list = document.getElementById("notification-list");
  document.addEventListener("matchmaker:notification", function (ev) {
    var n = ev.detail;
    if (n.id <= lastSeen) { return; }
    lastSeen = n.id;
    if (badge) {
      badge.textContent = String(n.unread_count);
      badge.dataset.count = String(n.unread_count);
      badge.hidden = n.unread_count === 0;
    }
    if (list) {
      fetch("/notifications/" + n.id + "/row", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (!html) { return; }
          var empty = list.querySelector(".empty");
          if (empty) { empty.remove(); }
          list.insertAdjacentHTML("afterbegin", html);
        });
    }
  });
})();

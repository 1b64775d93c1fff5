/* Live updates: one Socket.IO connection per page; elements with data-live-room="kind:id,..." join those
   rooms (the server checks each join like the matching HTTP read). Events are re-dispatched as DOM events
   named "matchmaker:<event>" so each page's script decides what to do with them. */
(function () {
  "use strict";
  if (typeof io === "undefined") { return; }
  var socket = io({ transports: ["websocket", "polling"] });
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
  socket.on("connect", joinRooms);
  socket.on("session_ended", function () { socket.disconnect(); });
  ["resource_changed", "team_changed", "booking_changed", "my_booking_changed", "calendar_changed",
   "recommendations_changed", "allocation_published"].forEach(function (name) {
    socket.on(name, function (payload) {
      document.dispatchEvent(new CustomEvent("matchmaker:" + name, { detail: payload }));
    });
  });
})();

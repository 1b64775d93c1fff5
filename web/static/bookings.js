/* "My bookings" and "My equipment": when a booking changes, its row is fetched as the server draws it
   and put in place (statuses, offers and approval requests appear as they happen); a team's calendar
   subscription address is fetched on request. */
(function () {
  "use strict";
  var hosted = document.getElementById("hosted");
  var mine = document.querySelector(".team-bookings");
  if (!hosted && !mine) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var view = hosted ? "hosted" : "mine";

  function place(b, html) {
    document.querySelectorAll('[data-booking-id="' + b.id + '"]').forEach(function (old) {
      if (view === "mine" && old.tagName === "TR") { old.outerHTML = html; html = ""; } else { old.remove(); }
    });
    if (!html) { return; }
    var target = view === "hosted"
      ? document.getElementById((b.status === "pending" ? "pending-" : "upcoming-") + b.resource.id)
      : document.getElementById("bookings-" + b.team.id);
    // A resource that had nothing on it is listed only in the table of quiet ones: news of it goes above.
    if (!target && view === "hosted") { target = document.getElementById("hosted-other"); }
    if (!target || (view === "mine" && !b.active)) { return; }
    var empty = target.querySelector(".empty");
    if (empty) { empty.remove(); }
    target.insertAdjacentHTML("afterbegin", html);
    target.firstElementChild.classList.add("live-new");
  }

  document.addEventListener("matchmaker:my_booking_changed", function (ev) {
    var b = ev.detail.booking;
    fetch("/bookings/" + b.id + "/row?view=" + view, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { if (html.trim()) { place(b, html.trim()); } });
  });

  document.querySelectorAll(".feed-link").forEach(function (button) {
    button.addEventListener("click", function () {
      fetch("/api/v1/teams/" + button.dataset.teamId + "/calendar-feed", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: "{}"
      }).then(function (r) { return r.json(); }).then(function (json) {
        var code = button.parentNode.querySelector(".feed-url");
        code.textContent = json.url || (json.error && json.error.message) || "";
        code.hidden = false;
      });
    });
  });
})();

/* A team's recommendations section fetches itself again when the team's history or profile changes
   (say, a booking was checked out), so the page never shows a stale list. */
(function () {
  "use strict";
  var section = document.getElementById("recommended");
  if (!section) { return; }
  var teamId = Number(section.dataset.teamId);
  var busy = false;

  function refresh() {
    if (busy) { return; }
    busy = true;
    fetch(section.dataset.refresh, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          section.innerHTML = html;
          section.dataset.refreshed = String(Number(section.dataset.refreshed || 0) + 1);
        }
      })
      .finally(function () { busy = false; });
  }

  document.addEventListener("matchmaker:stale", function (ev) { ev.preventDefault(); refresh(); });
  document.addEventListener("matchmaker:recommendations_changed", function (ev) {
    if (ev.detail.team_id === teamId) { refresh(); }
  });
  document.addEventListener("matchmaker:team_changed", function (ev) {
    if (ev.detail.team && ev.detail.team.id === teamId && ev.detail.action === "updated") { refresh(); }
  });
})();

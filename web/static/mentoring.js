/* The mentoring page and the deal-flow board redraw their live part from the server when a request, a
   session or an introduction changes, so both sides see each step without reloading. */
(function () {
  "use strict";
  var section = document.getElementById("mentoring-live") || document.getElementById("deal-board");
  if (!section) { return; }
  var busy = false;
  var again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(section.dataset.refresh, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          section.innerHTML = html;
          section.dataset.refreshed = String(Number(section.dataset.refreshed || 0) + 1);
        }
      })
      .finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  ["mentor_request_changed", "mentor_session_changed", "introduction_changed"].forEach(function (name) {
    document.addEventListener("matchmaker:" + name, refresh);
  });
})();

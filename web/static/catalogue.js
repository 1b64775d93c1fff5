/* Catalogue page: add, update or retire rows as resources change, without reloading. Rows are fetched
   as the server draws them, never redrawn here. */
(function () {
  "use strict";
  var list = document.getElementById("results");
  if (!list) { return; }
  var labels = JSON.parse(document.getElementById("labels-json").textContent);
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  var kinds = (list.dataset.filterKinds || "").split(",").filter(Boolean);
  var notice = document.getElementById("live-notice");

  function name(r) { return (zh ? r.name_zh || r.name_en : r.name_en || r.name_zh) || ""; }
  function say(text) { notice.textContent = text; notice.hidden = false; }
  function fetchRow(id, then) {
    fetch("/resources/" + id + "/row", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { if (html.trim()) { then(html.trim()); } });
  }

  document.addEventListener("matchmaker:resource_changed", function (ev) {
    var r = ev.detail.resource, action = ev.detail.action;
    var existing = list.querySelector('[data-resource-id="' + r.id + '"]');
    if (action === "retired") {
      if (existing) { existing.remove(); }
      say(labels.retired_notice + " " + name(r));
      return;
    }
    if (action === "updated" && existing) {
      fetchRow(r.id, function (html) { existing.outerHTML = html; });
      return;
    }
    if (action === "added") {
      say(labels.added + " " + name(r));
      if (list.dataset.hasQuery || (kinds.length && kinds.indexOf(r.kind) < 0)) { return; }
      fetchRow(r.id, function (html) {
        list.insertAdjacentHTML("afterbegin", html);
        list.firstElementChild.classList.add("live-new");
      });
    }
  });
})();

/* Catalogue page: add, update or retire rows as resources change, without reloading. */
(function () {
  "use strict";
  var list = document.getElementById("results");
  if (!list) { return; }
  var labels = JSON.parse(document.getElementById("labels-json").textContent);
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  var kinds = (list.dataset.filterKinds || "").split(",").filter(Boolean);
  var notice = document.getElementById("live-notice");

  function pick(obj, field) { return (zh ? obj[field + "_zh"] || obj[field + "_en"] : obj[field + "_en"] || obj[field + "_zh"]) || ""; }
  function price(r) {
    if (r.price_unit === "free") { return labels.price_units.free; }
    if (r.price_cny === null) { return "—"; }
    return "¥" + Number(r.price_cny).toLocaleString() + " " + (labels.price_units[r.price_unit] || r.price_unit);
  }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) { e.className = cls; } if (text) { e.textContent = text; } return e; }
  function row(r) {
    var li = el("li", "resource-row live-new");
    li.dataset.resourceId = r.id;
    var a = el("a", "name", pick(r, "name"));
    a.href = "/resources/" + r.id;
    li.appendChild(a);
    li.appendChild(el("span", "kind", (labels.kinds[r.kind] || r.kind) + " · " + (labels.categories[r.category] || r.category)));
    li.appendChild(el("span", "org", pick(r.organization, "name")));
    li.appendChild(el("span", "price", price(r)));
    return li;
  }
  function say(text) { notice.textContent = text; notice.hidden = false; }

  document.addEventListener("matchmaker:resource_changed", function (ev) {
    var r = ev.detail.resource, action = ev.detail.action;
    var existing = list.querySelector('[data-resource-id="' + r.id + '"]');
    if (action === "retired") {
      if (existing) { existing.remove(); }
      say(labels.retired_notice + " " + pick(r, "name"));
      return;
    }
    if (action === "updated" && existing) {
      existing.replaceWith(row(r));
      return;
    }
    if (action === "added") {
      say(labels.added + " " + pick(r, "name"));
      if (list.dataset.hasQuery || (kinds.length && kinds.indexOf(r.kind) < 0)) { return; }
      list.insertBefore(row(r), list.firstChild);
    }
  });
})();

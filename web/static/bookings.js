/* "My bookings" and "My equipment": statuses change, offers and approval requests appear as they
   happen; a team's calendar subscription address is fetched on request. */
(function () {
  "use strict";
  var namesEl = document.getElementById("status-names");
  if (!namesEl) { return; }
  var names = JSON.parse(namesEl.textContent);
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var texts = document.getElementById("bookings-text");
  var labels = texts ? JSON.parse(texts.textContent) : {};

  function when(b) {
    var zone = (b.resource && b.resource.timezone) || undefined;
    var format = function (iso, withDate) {
      return new Intl.DateTimeFormat("sv-SE", {
        timeZone: zone, year: withDate ? "numeric" : undefined, month: withDate ? "2-digit" : undefined,
        day: withDate ? "2-digit" : undefined, hour: "2-digit", minute: "2-digit", hour12: false
      }).format(new Date(iso));
    };
    return format(b.starts_at, true) + "–" + format(b.ends_at, false);
  }

  function name(obj) { return zh ? (obj.name_zh || obj.name_en) : (obj.name_en || obj.name_zh); }

  function actionForm(bookingId, action, label) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/bookings/" + bookingId + "/" + action;
    form.className = "inline";
    [["csrf_token", csrf], ["next", window.location.pathname]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
      form.appendChild(input);
    });
    var button = document.createElement("button");
    button.type = "submit"; button.dataset.action = action; button.textContent = label;
    form.appendChild(button);
    return form;
  }

  function setStatus(el, b) {
    el.dataset.status = b.status;
    var status = el.querySelector(".status");
    if (status) { status.textContent = names[b.status] || b.status; }
    if (!b.active) { el.querySelectorAll("form").forEach(function (f) { f.remove(); }); }
  }

  function onMine(b) {
    var row = document.querySelector('tr[data-booking-id="' + b.id + '"]');
    if (row) { setStatus(row, b); return; }
    var body = document.getElementById("bookings-" + b.team.id);
    if (!body || !b.active) { return; }
    var empty = body.querySelector(".empty");
    if (empty) { empty.remove(); }
    row = document.createElement("tr");
    row.dataset.bookingId = b.id;
    row.className = "live-new";
    [name(b.resource), when(b), "", b.amount_cny, ""].forEach(function (value, i) {
      var td = document.createElement("td");
      td.textContent = value;
      if (i === 2) { td.className = "status"; }
      if (i === 4) { td.className = "actions"; }
      row.appendChild(td);
    });
    if (b.status === "held") { row.querySelector(".actions").appendChild(actionForm(b.id, "accept", labels.accept || names.held)); }
    setStatus(row, b);
    body.insertBefore(row, body.firstChild);
  }

  function onHosted(b) {
    var resourceId = b.resource.id;
    var pending = document.getElementById("pending-" + resourceId);
    var upcoming = document.getElementById("upcoming-" + resourceId);
    if (!pending || !upcoming) { return; }
    var existing = document.querySelectorAll('li[data-booking-id="' + b.id + '"]');
    existing.forEach(function (li) { if (li.parentNode === pending && b.status !== "pending") { li.remove(); } });
    var target = b.status === "pending" ? pending : upcoming;
    var li = target.querySelector('li[data-booking-id="' + b.id + '"]');
    if (!li) {
      var empty = target.querySelector(".empty");
      if (empty) { empty.remove(); }
      li = document.createElement("li");
      li.dataset.bookingId = b.id;
      li.className = "live-new";
      var text = document.createElement("span");
      text.textContent = when(b) + " · " + name(b.team) + " · ";
      var status = document.createElement("span");
      status.className = "status";
      li.appendChild(text);
      li.appendChild(status);
      if (b.status === "pending") {
        li.appendChild(actionForm(b.id, "approve", labels.approve));
        li.appendChild(actionForm(b.id, "reject", labels.reject));
      }
      target.insertBefore(li, target.firstChild);
    }
    setStatus(li, b);
  }

  document.addEventListener("matchmaker:my_booking_changed", function (ev) {
    var b = ev.detail.booking;
    if (document.getElementById("hosted")) { onHosted(b); } else { onMine(b); }
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

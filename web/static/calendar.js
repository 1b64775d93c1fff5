/* A resource's calendar: colours each slot from the bookings, blackouts and opening hours, lets a
   team select free slots and book them, and follows live events without reloading the page. */
(function () {
  "use strict";
  var page = document.getElementById("calendar");
  if (!page) { return; }
  var data = JSON.parse(document.getElementById("calendar-data").textContent);
  var text = JSON.parse(document.getElementById("calendar-text").textContent);
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  var resourceId = Number(page.dataset.resourceId);
  var slotMs = data.rules.slot_minutes * 60000;
  var cells = Array.prototype.slice.call(document.querySelectorAll("#slots td[data-start]"));
  var selection = null;
  var ms = function (iso) { return Date.parse(iso); };
  var overlaps = function (a0, a1, b0, b1) { return a0 < b1 && b0 < a1; };

  function csrf() { return document.querySelector('meta[name="csrf-token"]').content; }

  function classify(start) {
    var end = start + slotMs;
    if (start < Date.now()) {
      // Over, or already under way: shown as past (the team's own bookings still show as theirs) and
      // never offered, since a booking cannot start in the past.
      var ownPast = data.bookings.filter(function (b) {
        return b.active && b.mine && overlaps(start, end, ms(b.starts_at), ms(b.ends_at));
      })[0];
      return ownPast ? { kind: "mine past", booking: ownPast } : { kind: "past" };
    }
    var open = data.opening.some(function (o) { return ms(o.starts_at) <= start && end <= ms(o.ends_at); });
    if (!open) { return { kind: "closed" }; }
    var closedUnits = {};
    var all = false;
    data.blackouts.forEach(function (b) {
      if (!b.removed && overlaps(start, end, ms(b.starts_at), ms(b.ends_at))) {
        if (b.unit === null) { all = true; } else { closedUnits[b.unit] = true; }
      }
    });
    if (all || Object.keys(closedUnits).length >= data.rules.units) { return { kind: "blackout" }; }
    var busy = {};
    var mine = null;
    data.bookings.forEach(function (b) {
      if (b.active && overlaps(start, end, ms(b.starts_at), ms(b.blocked_until))) {
        busy[b.unit] = true;
        if (b.mine && overlaps(start, end, ms(b.starts_at), ms(b.ends_at))) { mine = b; }
      }
    });
    var used = Object.keys(busy).length + Object.keys(closedUnits).filter(function (u) { return !busy[u]; }).length;
    var free = data.rules.units - used;
    if (mine) { return { kind: "mine", booking: mine, free: free }; }
    if (free <= 0) { return { kind: "taken" }; }
    return { kind: "free", free: free };
  }

  function render() {
    cells.forEach(function (td) {
      var start = ms(td.dataset.start);
      var state = classify(start);
      td.className = "cell " + state.kind;
      td.dataset.state = state.kind;
      var label = text[state.kind] || state.kind;
      if (state.kind === "free" && data.rules.units > 1) { label = state.free + " " + text.units_free; }
      if (state.booking) { label = text.mine; }
      if (selection && start >= selection.start && start < selection.end) { td.className += " selected"; }
      td.textContent = label;
      td.title = label;
    });
  }

  function clock(msValue) {
    return new Intl.DateTimeFormat(zh ? "zh-CN" : "en-GB", {
      timeZone: data.timezone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false
    }).format(new Date(msValue));
  }

  function choose(td) {
    if (td.dataset.state !== "free" && td.dataset.state !== "taken") { return; }
    var start = ms(td.dataset.start);
    var sameDay = selection && td.cellIndex === selection.column;
    if (selection && sameDay && selection.end - selection.start === slotMs && start !== selection.start) {
      var lo = Math.min(start, selection.start);
      var hi = Math.max(start, selection.start) + slotMs;
      var gap = cells.some(function (c) {
        var s = ms(c.dataset.start);
        return c.cellIndex === td.cellIndex && s >= lo && s < hi && c.dataset.state !== "free";
      });
      if (gap) { show(text.not_contiguous, "warning"); return; }
      selection = { start: lo, end: hi, column: td.cellIndex };
    } else {
      selection = { start: start, end: start + slotMs, column: td.cellIndex };
    }
    var panel = document.getElementById("booking-panel");
    panel.hidden = false;
    document.getElementById("selection").textContent = text.selected + ": " + clock(selection.start) + " – " + clock(selection.end);
    var wait = document.getElementById("wait");
    if (wait) { wait.hidden = td.dataset.state !== "taken"; }
    render();
  }

  function show(message, kind, extra) {
    var box = document.getElementById("booking-result");
    box.innerHTML = "";
    var p = document.createElement("p");
    p.className = "flash " + (kind || "success");
    p.textContent = message;
    box.appendChild(p);
    if (extra) { box.appendChild(extra); }
  }

  function upsert(booking, mine) {
    var found = data.bookings.filter(function (b) { return b.id === booking.id; })[0];
    if (found) {
      Object.keys(booking).forEach(function (k) { found[k] = booking[k]; });
      if (mine) { found.mine = true; }
    } else if (booking.active) {
      booking.mine = Boolean(mine);
      data.bookings.push(booking);
    }
    data.bookings = data.bookings.filter(function (b) { return b.active; });
    render();
  }

  function send(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept-Language": zh ? "zh" : "en" },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (json) { return { status: r.status, json: json }; }); });
  }

  function alternativesList(details) {
    var alt = details.alternatives || {};
    var list = document.createElement("ul");
    list.className = "alternatives";
    [["earlier", alt.earlier], ["later", alt.later], ["shorter", alt.shorter]].forEach(function (pair) {
      if (!pair[1]) { return; }
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = text[pair[0]] + ": " + clock(ms(pair[1].starts_at)) + " – " + clock(ms(pair[1].ends_at)) + " · " + text.book_instead;
      button.addEventListener("click", function () {
        selection = { start: ms(pair[1].starts_at), end: ms(pair[1].ends_at), column: -1 };
        book();
      });
      li.appendChild(button);
      list.appendChild(li);
    });
    (alt.substitutes || []).forEach(function (s) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/resources/" + s.resource_id + "/calendar";
      a.textContent = text.elsewhere + ": " + (zh ? s.name_zh : s.name_en);
      li.appendChild(a);
      list.appendChild(li);
    });
    return list;
  }

  function request() {
    return {
      team_id: Number(document.getElementById("team").value),
      resource_id: resourceId,
      starts_at: new Date(selection.start).toISOString(),
      ends_at: new Date(selection.end).toISOString()
    };
  }

  function book() {
    if (!selection) { return; }
    var body = request();
    body.note = document.getElementById("note").value;
    send("/api/v1/bookings", body).then(function (answer) {
      if (answer.status === 201) {
        upsert(answer.json, true);
        show(answer.json.status === "pending" ? text.pending : text.booked, "success");
        selection = null;
        render();
        return;
      }
      var error = answer.json.error || {};
      show(error.message || text.failed, "danger", error.code === "slot_taken" ? alternativesList(error.details || {}) : null);
    });
  }

  function wait() {
    send("/api/v1/waitlist", request()).then(function (answer) {
      var error = answer.json.error || {};
      show(answer.status === 201 ? text.waiting : (error.message || text.failed), answer.status === 201 ? "success" : "danger");
    });
  }

  function refetch() {
    var url = "/api/v1/resources/" + resourceId + "/calendar?start=" + encodeURIComponent(data.from) + "&end=" + encodeURIComponent(data.to);
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (fresh) {
      if (fresh.bookings) { data = fresh; render(); }
    });
  }

  function preselect() {
    // Opened from a suggestion ("Book: free from ..."): its slot is selected, one click books it.
    var chosen = JSON.parse(document.getElementById("calendar-chosen").textContent);
    if (!chosen) { return; }
    var start = ms(chosen.starts_at);
    var end = ms(chosen.ends_at);
    var covered = cells.filter(function (c) { var s = ms(c.dataset.start); return s >= start && s < end; });
    var free = covered.length > 0 && covered.every(function (c) { return c.dataset.state === "free"; });
    var column = covered.length ? covered[0].cellIndex : -1;
    if (!free || covered.some(function (c) { return c.cellIndex !== column; })) { return; }
    selection = { start: start, end: end, column: column };
    document.getElementById("booking-panel").hidden = false;
    document.getElementById("selection").textContent = text.selected + ": " + clock(start) + " – " + clock(end);
    render();
    covered[0].scrollIntoView({ block: "center" });
    var bookNow = document.getElementById("book");
    if (bookNow) { bookNow.focus(); }
  }

  document.getElementById("slots").addEventListener("click", function (ev) {
    var td = ev.target.closest("td[data-start]");
    if (td) { choose(td); }
  });
  var bookButton = document.getElementById("book");
  if (bookButton) { bookButton.addEventListener("click", book); }
  var waitButton = document.getElementById("wait");
  if (waitButton) { waitButton.addEventListener("click", wait); }
  document.addEventListener("matchmaker:booking_changed", function (ev) {
    if (ev.detail.booking.resource_id === resourceId) { upsert(ev.detail.booking, false); }
  });
  document.addEventListener("matchmaker:my_booking_changed", function (ev) {
    if (ev.detail.booking.resource_id === resourceId) { upsert(ev.detail.booking, true); }
  });
  document.addEventListener("matchmaker:calendar_changed", function (ev) {
    if (ev.detail.resource_id === resourceId) { refetch(); }
  });
  document.addEventListener("matchmaker:stale", function (ev) { ev.preventDefault(); refetch(); });
  render();
  preselect();
  page.dataset.ready = "true";
})();

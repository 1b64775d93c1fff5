/* Manager's review page: a new application appears in the waiting list as it arrives. */
(function () {
  "use strict";
  var list = document.getElementById("pending");
  if (!list) { return; }
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  document.addEventListener("matchmaker:team_changed", function (ev) {
    var team = ev.detail.team;
    var existing = list.querySelector('[data-team-id="' + team.id + '"]');
    if (ev.detail.action !== "applied") { if (existing && ev.detail.action !== "updated") { existing.remove(); } return; }
    var empty = list.querySelector(".empty");
    if (empty) { empty.remove(); }
    var li = document.createElement("li");
    li.dataset.teamId = team.id;
    var a = document.createElement("a");
    a.href = "/teams/" + team.id + "/review";
    a.textContent = zh ? team.name_zh || team.name_en : team.name_en || team.name_zh;
    li.appendChild(a);
    list.insertBefore(li, list.firstChild);
  });
})();

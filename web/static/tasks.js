/* Task board, task page and task desk: a task_changed event carries the task's new state and standing
   bid count (never amounts); every row or page showing that task updates in place. */
(function () {
  "use strict";
  var names = document.getElementById("task-status-names");
  if (!names) { return; }
  var statusNames = JSON.parse(names.textContent);
  document.addEventListener("matchmaker:task_changed", function (ev) {
    var t = ev.detail.task;
    document.querySelectorAll('[data-task-id="' + t.id + '"]').forEach(function (el) {
      var count = el.querySelector("[data-bid-count]");
      var status = el.querySelector("[data-task-status]");
      if (count) { count.textContent = String(t.bid_count); }
      if (status) { status.textContent = statusNames[t.status] || t.status; }
    });
  });
})();

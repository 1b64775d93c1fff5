/* The cockpit: five charts drawn with Apache ECharts from the utilization answer of the API, each
   downloadable as PNG or SVG (its data as CSV is a server link). When a booking, a mentor session, an
   introduction (or its deal) or a task of the space changes, the figures are fetched again as the
   server draws them and the charts redrawn from a fresh answer. */
(function () {
  "use strict";
  var root = document.getElementById("cockpit");
  if (!root || typeof echarts === "undefined") { return; }
  var spaceId = root.dataset.spaceId;
  var query = "?start=" + root.dataset.start + "&end=" + root.dataset.end;
  var labels = document.getElementById("chart-labels").dataset;
  var weekdays = labels.weekdays.split(",");
  var stages = labels.stages.split(",");
  var stageKeys = labels.stageKeys.split(",");
  var dealStages = labels.dealStages.split(",");
  var dealStageKeys = labels.dealStageKeys.split(",");
  var charts = {};
  var options = {};

  function optionsFor(report) {
    var hours = [];
    for (var h = 0; h < 24; h++) { hours.push(String(h)); }
    var cells = [];
    var most = 1;
    report.heatmap.forEach(function (row, day) {
      row.forEach(function (n, hour) { cells.push([hour, day, n]); if (n > most) { most = n; } });
    });
    // The answer's keys come sorted by name; the charts follow the stages' own order.
    var funnel = stageKeys.filter(function (s) { return s in report.stage_funnel; });
    var deals = dealStageKeys.filter(function (s) { return s in report.deal_flow.deals; });
    var zh = labels.locale === "zh";
    return {
      daily: {
        animation: false,
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: report.daily_booked_hours.map(function (d) { return d.day; }) },
        yAxis: { type: "value", name: labels.hours },
        series: [{ type: "line", name: labels.hours, data: report.daily_booked_hours.map(function (d) { return d.hours; }) }]
      },
      heatmap: {
        animation: false,
        tooltip: {},
        grid: { left: 50, bottom: 60 },
        xAxis: { type: "category", data: hours },
        yAxis: { type: "category", data: weekdays },
        visualMap: { min: 0, max: most, calculable: true, orient: "horizontal", left: "center", bottom: 0 },
        series: [{ type: "heatmap", name: labels.bookings, data: cells }]
      },
      funnel: {
        animation: false,
        tooltip: {},
        xAxis: { type: "category", data: funnel.map(function (s) { return stages[stageKeys.indexOf(s)] || s; }) },
        yAxis: { type: "value", name: labels.teams, minInterval: 1 },
        series: [{ type: "bar", name: labels.teams, data: funnel.map(function (s) { return report.stage_funnel[s]; }) }]
      },
      pipeline: {
        animation: false,
        tooltip: {},
        xAxis: { type: "category", data: deals.map(function (s) { return dealStages[dealStageKeys.indexOf(s)] || s; }) },
        yAxis: { type: "value", name: labels.deals, minInterval: 1 },
        series: [{ type: "bar", name: labels.deals, data: deals.map(function (s) { return report.deal_flow.deals[s]; }) }]
      },
      resources: {
        animation: false,
        tooltip: {},
        grid: { left: 160 },
        xAxis: { type: "value", name: labels.utilization, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
        yAxis: { type: "category", data: report.resources.map(function (r) { return zh ? r.name_zh : r.name_en; }) },
        series: [{ type: "bar", name: labels.utilization, data: report.resources.map(function (r) { return r.utilization || 0; }) }]
      }
    };
  }

  function draw(report) {
    var next = optionsFor(report);
    Object.keys(next).forEach(function (name) {
      var el = document.getElementById("chart-" + name);
      if (!el) { return; }
      if (!charts[name]) { charts[name] = echarts.init(el); }
      var titled = Object.assign({ title: { text: el.dataset.title, textStyle: { fontSize: 13 } } }, next[name]);
      options[name] = titled;
      charts[name].setOption(titled, true);
      el.dataset.drawn = String(Number(el.dataset.drawn || 0) + 1);
    });
  }

  function load() {
    return fetch("/api/v1/spaces/" + spaceId + "/utilization" + query, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (report) { if (report) { draw(report); } });
  }

  function refreshFigures() {
    return fetch("/spaces/" + spaceId + "/cockpit/figures" + query, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (html.trim()) { document.getElementById("figures-slot").innerHTML = html; }
      });
  }

  // Several changes in a burst (a series, a blackout cancelling many) cost one refresh.
  var pending = null;
  function changed() {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () { pending = null; refreshFigures(); load(); }, 250);
  }
  // The page joins only this space's managers' room, so every change it hears is the space's: bookings,
  // mentor sessions, introductions and their deals, and tasks.
  ["my_booking_changed", "mentor_session_changed", "introduction_changed", "task_changed"].forEach(function (name) {
    document.addEventListener("matchmaker:" + name, changed);
  });

  function save(name, href) {
    var a = document.createElement("a");
    a.href = href;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
  document.querySelectorAll(".chart-png").forEach(function (button) {
    button.addEventListener("click", function () {
      var chart = charts[button.dataset.chart];
      if (chart) { save(button.dataset.chart + ".png", chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" })); }
    });
  });
  document.querySelectorAll(".chart-svg").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.dataset.chart;
      var el = document.getElementById("chart-" + name);
      if (!options[name]) { return; }
      // The same option drawn once more by ECharts' SVG renderer, off screen, as a string.
      var svg = echarts.init(null, null, { renderer: "svg", ssr: true, width: el.clientWidth || 600, height: el.clientHeight || 320 });
      svg.setOption(options[name]);
      var blob = new Blob([svg.renderToSVGString()], { type: "image/svg+xml" });
      svg.dispose();
      var url = URL.createObjectURL(blob);
      save(name + ".svg", url);
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  });
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (n) { charts[n].resize(); }); });
  load();
})();

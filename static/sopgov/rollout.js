// Charts of outcome rates per version over time on the rollout page (Chart.js, served locally).
(function () {
  "use strict";
  var TITLES = { complaint_rate: "Complaint rate", escalation_rate: "Escalation rate", error_rate: "Error rate" };
  function draw(data) {
    var labels = data.labels.map(function (iso) { return new Date(iso).toLocaleTimeString(); });
    Object.keys(TITLES).forEach(function (metric) {
      var canvas = document.getElementById("chart-" + metric);
      if (!canvas || !window.Chart) { return; }
      var series = data.series[metric];
      new window.Chart(canvas, {
        type: "line",
        data: {
          labels: labels,
          datasets: [
            { label: "stable", data: series.stable, borderColor: "#417690", backgroundColor: "#417690", spanGaps: true },
            { label: "candidate", data: series.candidate, borderColor: "#ba2121", backgroundColor: "#ba2121", spanGaps: true }
          ]
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          plugins: { title: { display: true, text: TITLES[metric] } },
          scales: { y: { min: 0, suggestedMax: 0.2, ticks: { callback: function (v) { return Math.round(v * 100) + " %"; } } } }
        }
      });
    });
    document.getElementById("charts").dataset.loaded = "true";
  }
  function init() {
    var box = document.getElementById("charts");
    if (!box) { return; }
    fetch(box.dataset.metricsUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(draw)
      .catch(function (e) { document.getElementById("chart-note").textContent = "Charts unavailable: " + e.message; });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

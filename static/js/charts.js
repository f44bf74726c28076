/* Draws every <canvas data-chart="ID"> from the JSON in <script id="ID-data">, built by
   apps/core/charts.py. Colours come from a fixed palette so a series keeps its colour. */
(function () {
  "use strict";
  var PALETTE = ["#2457d6", "#b42318", "#127a3a", "#9a6700", "#6b3fa0", "#0f7c8c", "#5b6675"];

  function dataset(series, index) {
    var colour = PALETTE[index % PALETTE.length];
    var isBar = series.kind === "bar";
    return {
      label: series.label,
      data: series.values,
      type: isBar ? "bar" : "line",
      stepped: series.kind === "step" ? "after" : false,
      borderColor: colour,
      backgroundColor: isBar ? colour + "cc" : colour + "22",
      borderWidth: isBar ? 0 : 2,
      pointRadius: series.values.length > 60 ? 0 : 2,
      fill: false,
      spanGaps: true
    };
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart + "-data");
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var axisTitle = function (text) { return {display: true, text: text, font: {weight: "bold"}}; };
    canvas.chart = new Chart(canvas, {
      type: spec.kind === "bar" ? "bar" : "line",
      data: {labels: spec.labels, datasets: spec.series.map(dataset)},
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: {mode: "index", intersect: false},
        plugins: {legend: {position: "bottom"}, title: {display: false}},
        scales: {
          x: {stacked: spec.stacked, title: axisTitle(spec.x_label),
              ticks: {autoSkip: true, maxTicksLimit: 12, maxRotation: 0}},
          y: {stacked: spec.stacked, beginAtZero: true, title: axisTitle(spec.y_label),
              ticks: {precision: 0}}
        }
      }
    });
    canvas.dataset.points = String(spec.labels.length);
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();

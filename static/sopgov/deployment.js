// Follows a running deployment: polls its JSON every 2 s and updates the progress bar, step,
// status and log; reloads the page once it ends so the runtime facts are fresh.
(function () {
  "use strict";
  var ACTIVE = { pending: true, in_progress: true };
  var LABELS = { pending: "Pending", in_progress: "In progress", succeeded: "Succeeded", failed: "Failed" };
  function render(box, d) {
    var bar = box.querySelector(".sopgov-progress");
    bar.setAttribute("aria-valuenow", d.progress);
    bar.firstElementChild.style.width = d.progress + "%";
    box.querySelector('[data-field="progress"]').textContent = d.progress + " %";
    box.querySelector('[data-field="step"]').textContent = d.step;
    box.querySelector('[data-field="error"]').textContent = d.error || "";
    var status = box.querySelector('[data-field="status"]');
    status.textContent = LABELS[d.status] || d.status;
    status.className = "sopgov-badge sopgov-pub-" + d.status;
    var log = box.querySelector('[data-field="log"]');
    log.textContent = "";
    d.log.forEach(function (line) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.textContent = (line.at || "").slice(11, 19);
      li.appendChild(time);
      li.appendChild(document.createTextNode(" " + line.message));
      log.appendChild(li);
    });
    box.dataset.status = d.status;
  }
  function poll(box) {
    fetch(box.dataset.pollUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (d) {
        render(box, d);
        if (ACTIVE[d.status]) { setTimeout(function () { poll(box); }, 2000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(function () { poll(box); }, 5000); });
  }
  function init() {
    var box = document.getElementById("deployment");
    if (box && ACTIVE[box.dataset.status]) { setTimeout(function () { poll(box); }, 1000); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

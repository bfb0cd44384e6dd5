// Follows a running audit-chain verification and reloads the page with its verdict.
(function () {
  "use strict";
  function poll(box) {
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (d) {
        box.querySelector('[data-field="checked"]').textContent = d.checked;
        box.querySelector('[data-field="total"]').textContent = d.total;
        var bar = box.querySelector(".sopgov-progress");
        bar.setAttribute("aria-valuenow", d.progress);
        bar.firstElementChild.style.width = d.progress + "%";
        if (d.status === "running") { setTimeout(function () { poll(box); }, 1000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(function () { poll(box); }, 3000); });
  }
  function init() {
    var box = document.getElementById("verification");
    if (box && box.dataset.status === "running") { setTimeout(function () { poll(box); }, 500); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

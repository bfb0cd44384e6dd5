// Live Markdown preview for the version editor: posts the content to the server, which renders
// and sanitises it exactly as reviewers will see it. Debounced so typing stays smooth.
(function () {
  "use strict";
  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function init() {
    var form = document.getElementById("version-form");
    var source = document.getElementById("id_content");
    var preview = document.getElementById("preview");
    if (!form || !source || !preview) { return; }
    var timer = null;
    var sequence = 0;
    function render() {
      var mine = ++sequence;
      var body = new URLSearchParams();
      body.set("content", source.value);
      fetch(preview.dataset.previewUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(form), "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        credentials: "same-origin"
      }).then(function (response) {
        if (!response.ok) { throw new Error("preview failed: " + response.status); }
        return response.text();
      }).then(function (html) {
        if (mine === sequence) { preview.innerHTML = html; }  // server-sanitised (nh3)
      }).catch(function (error) {
        if (mine === sequence) { preview.textContent = "Preview unavailable (" + error.message + "); your text is safe."; }
      });
    }
    source.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 250);
    });
    // Warn before leaving with unsaved changes.
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
    render();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

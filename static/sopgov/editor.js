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
    // Too large to save: say so here and send nothing, so the text stays in the editor.
    var maxBytes = parseInt(form.dataset.maxBytes || "0", 10);
    form.addEventListener("submit", function (event) {
      var size = new Blob([source.value]).size;  // UTF-8 bytes, as the server counts them
      var note = document.getElementById("content-too-large");
      if (maxBytes && size > maxBytes) {
        event.preventDefault();
        if (!note) {
          note = document.createElement("p");
          note.id = "content-too-large";
          note.className = "errornote";
          source.parentNode.insertBefore(note, source);
        }
        note.textContent = "The content is " + size.toLocaleString() + " bytes; the limit is " +
          maxBytes.toLocaleString() + " bytes. Nothing was sent; your text is still here.";
        note.scrollIntoView({ block: "center" });
        return;
      }
      if (note) { note.remove(); }
      dirty = false;
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
    render();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

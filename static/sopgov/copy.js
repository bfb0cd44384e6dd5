// Copy buttons: <button class="sopgov-copy" data-copy="ELEMENT_ID"> copies that element's text.
// The Clipboard API needs a secure context (HTTPS or localhost); elsewhere the text is selected
// and the legacy copy command is tried, and the button says when the person must press Ctrl+C.
(function () {
  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(button, text) {
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = label; }, 2500);
  }

  document.querySelectorAll("button.sopgov-copy").forEach(function (button) {
    button.addEventListener("click", function () {
      const source = document.getElementById(button.dataset.copy);
      if (!source) { return; }
      const text = source.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { say(button, "Copied"); },
          function () { selectText(source); say(button, "Selected: press Ctrl+C"); }
        );
        return;
      }
      selectText(source);
      let copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      say(button, copied ? "Copied" : "Selected: press Ctrl+C");
    });
  });
})();

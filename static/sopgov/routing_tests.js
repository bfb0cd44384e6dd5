// One click on "Add test" in the tool-call list keeps that call's question as a routing test
// of the SOP typed next to it (default: the one it was served). Posts the same form as the SOP page.
(function () {
  const config = document.getElementById("add-test-config");
  if (!config) {
    document.querySelectorAll(".sopgov-add-test").forEach((el) => el.remove());
    return;
  }
  const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";
  document.querySelectorAll(".sopgov-add-test button").forEach((button) => {
    button.addEventListener("click", () => {
      const box = button.closest(".sopgov-add-test");
      const body = new URLSearchParams({
        sop: box.querySelector("input").value.trim(),
        question: box.dataset.question,
        tool_call_id: box.dataset.call,
        next: window.location.pathname + window.location.search,
      });
      button.disabled = true;
      fetch(config.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(), "Content-Type": "application/x-www-form-urlencoded" },
        body,
      }).then(() => window.location.reload());
    });
  });
})();

// One click on "Add test" in the tool-call list keeps that call's question as a routing test
// of the SOP typed next to it (default: the one it was served). Posts the same form as the SOP page.
(function () {
  const config = document.getElementById("add-test-config");
  if (!config) {
    document.querySelectorAll(".sopgov-add-test").forEach((el) => el.remove());
    return;
  }
  const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";
  // A real form post (not fetch): the browser follows the redirect back here and shows the
  // outcome message the server left for this page.
  document.querySelectorAll(".sopgov-add-test button").forEach((button) => {
    button.addEventListener("click", () => {
      const box = button.closest(".sopgov-add-test");
      const form = document.createElement("form");
      form.method = "post";
      form.action = config.dataset.url;
      const fields = {
        csrfmiddlewaretoken: config.dataset.csrf || csrf(),
        sop: box.querySelector("input").value.trim(),
        question: box.dataset.question,
        tool_call_id: box.dataset.call,
        next: window.location.pathname + window.location.search,
      };
      Object.entries(fields).forEach(([name, value]) => {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        form.appendChild(input);
      });
      button.disabled = true;
      document.body.appendChild(form);
      form.submit();
    });
  });
})();

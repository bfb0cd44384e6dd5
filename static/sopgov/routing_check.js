// Reload the version page when its routing check finishes (polls the check's status every 2 s).
(function () {
  const section = document.getElementById("routing-check");
  if (!section) return;
  const waiting = ["pending", "running"];
  if (!waiting.includes(section.dataset.status)) return;
  const url = section.dataset.statusUrl;
  const poll = () => {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((body) => {
        if (body && !waiting.includes(body.status)) window.location.reload();
        else setTimeout(poll, 2000);
      })
      .catch(() => setTimeout(poll, 5000));
  };
  setTimeout(poll, 2000);
})();

// Polls the flag count and offers a refresh when new flags have arrived.
(function () {
  const total = document.getElementById("total");
  const fresh = document.getElementById("fresh");
  if (!total || !fresh) return;
  const known = Number(total.dataset.total);
  const params = new URLSearchParams(window.location.search);
  params.set("limit", "1");
  params.delete("page");
  async function check() {
    try {
      const r = await fetch("/api/flags?" + params.toString(), { credentials: "same-origin" });
      if (r.ok && (await r.json()).total !== known) {
        if (known === 0) { window.location.reload(); return; }
        fresh.hidden = false;
      }
    } catch (e) { /* offline: try again later */ }
  }
  setInterval(check, 5000);
})();

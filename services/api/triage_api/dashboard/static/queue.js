// The queue: new flags arrive over Server-Sent Events (/api/stream) and are inserted where the queue's order
// puts them (the tbody's data-order: needs a human first, newest, oldest or due soonest); a flag updated since
// (relabelled by a newer verdict, re-routed, severity raised) replaces its row and moves to its new place, or
// comes in at its place if the page does not show it; one that sorts after a page with more pages behind it
// belongs to a later page and is left there. SLA timers count down; keyboard shortcuts move and act. Every
// value from the server is set with textContent.
(function () {
  const rows = document.getElementById("queue-rows");
  const live = document.getElementById("live");
  const total = document.getElementById("total");
  if (!rows) return;

  function cell(tr, className) { const td = document.createElement("td"); if (className) td.className = className; tr.appendChild(td); return td; }
  function span(parent, className, text) { const s = document.createElement("span"); s.className = className; s.textContent = text; parent.appendChild(s); return s; }

  function row(flag) {
    const tr = document.createElement("tr");
    tr.className = "sev-" + flag.severity + " fresh";
    tr.dataset.flagId = flag.id;
    tr.dataset.open = flag.open === false ? "0" : "1";
    tr.dataset.rank = String(SEVERITIES.indexOf(flag.severity));
    tr.dataset.due = flag.due_at;
    tr.dataset.flagged = flag.flagged_at;
    span(cell(tr), "sev sev-" + flag.severity, flag.severity);
    const labels = cell(tr);
    flag.labels.forEach(function (l) { span(labels, "label label-" + l, l.replace("_", " ")); labels.append(" "); });
    const text = cell(tr, "text");
    const a = document.createElement("a"); a.href = "/flags/" + encodeURIComponent(flag.id); a.textContent = flag.text; text.appendChild(a);
    const author = document.createElement("div"); author.className = "author"; author.textContent = flag.author_handle; text.appendChild(author);
    const where = cell(tr); where.append(flag.platform); where.appendChild(document.createElement("br")); span(where, "muted", flag.account_handle);
    const flagged = document.createElement("time"); flagged.className = "local"; flagged.dateTime = flag.flagged_at; flagged.textContent = flag.flagged_at.slice(0, 16).replace("T", " ") + " UTC"; cell(tr).appendChild(flagged);
    if (window.TriageTimes) window.TriageTimes.localise(flagged);
    if (flag.open === false) span(cell(tr), "muted", "–");
    else { const due = document.createElement("time"); due.className = "sla"; due.dateTime = flag.due_at; cell(tr).appendChild(due); }
    cell(tr, "status").textContent = flag.status.replace("_", " ");
    return tr;
  }

  // The sort key of a row in each order, compared like the server's (flags.service.sort_keys): each entry is
  // [value, descending].
  const SEVERITIES = ["low", "medium", "high", "critical"];
  function key(tr) {
    const open = Number(tr.dataset.open), rank = Number(tr.dataset.rank);
    const due = Date.parse(tr.dataset.due), flagged = Date.parse(tr.dataset.flagged), id = tr.dataset.flagId;
    switch (rows.dataset.order) {
      case "priority": return [[open, true], [rank, true], [due, false], [id, false]];
      case "due": return [[open, true], [due, false], [id, false]];
      case "oldest": return [[flagged, false], [id, false]];
      default: return [[flagged, true], [id, true]];
    }
  }
  function before(a, b) {  // whether row a comes before row b in the queue's order
    const ka = key(a), kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i][0] === kb[i][0]) continue;
      return ka[i][1] ? ka[i][0] > kb[i][0] : ka[i][0] < kb[i][0];
    }
    return false;
  }
  // Put a row at its place; false when it belongs to a later page (after every row of a page with more).
  function place(tr) {
    const others = Array.from(rows.querySelectorAll("tr[data-flag-id]")).filter(function (other) { return other !== tr; });
    const next = others.find(function (other) { return before(tr, other); });
    // On a later page, a flag that sorts before the first row belongs to an earlier page.
    if (next && next === others[0] && rows.dataset.paged === "true") { tr.remove(); return false; }
    if (next) { rows.insertBefore(tr, next); return true; }
    if (rows.dataset.more === "true") { tr.remove(); return false; }
    rows.appendChild(tr);
    return true;
  }

  function tick() {
    const now = Date.now();
    rows.querySelectorAll("time.sla").forEach(function (t) {
      const left = Math.round((Date.parse(t.dateTime) - now) / 1000);
      const abs = Math.abs(left);
      const text = abs >= 3600 ? Math.floor(abs / 3600) + "h " + Math.floor((abs % 3600) / 60) + "m" : Math.floor(abs / 60) + "m " + (abs % 60) + "s";
      t.textContent = left >= 0 ? "in " + text : text + " overdue";
      t.classList.toggle("overdue", left < 0);
    });
  }
  tick();
  setInterval(tick, 1000);

  if (window.EventSource) {
    // From the moment the listing was taken: a flag stored while the page loaded arrives too, and so does one
    // stored while a stream that had sent nothing yet reconnects (the URL is the same; after a message, the
    // browser's Last-Event-ID resumes instead).
    const since = rows.dataset.since ? "?since=" + encodeURIComponent(rows.dataset.since) : "";
    const source = new EventSource("/api/stream" + since);
    source.onopen = function () { if (live) live.textContent = "live"; };
    source.onerror = function () { if (live) live.textContent = "live updates: reconnecting…"; };
    source.addEventListener("flag", function (message) {
      const flag = JSON.parse(message.data);
      const shown = rows.querySelector('tr[data-flag-id="' + CSS.escape(flag.id) + '"]');
      if (shown) {
        if (flag.change === "updated") { const tr = row(flag); tr.classList.toggle("current", shown.classList.contains("current")); shown.replaceWith(tr); place(tr); tick(); }
        return;
      }
      const empty = rows.querySelector("tr.empty-row");
      if (empty) empty.remove();
      place(row(flag));
      if (total && flag.change !== "updated") { const n = Number(total.dataset.total) + 1; total.dataset.total = String(n); total.textContent = n + " flag" + (n === 1 ? "" : "s"); }
      tick();
    });
  }

  // Keyboard: j/k move, o opens, r opens with the reply box focused, h/d hide or dismiss the current flag.
  let current = -1;
  function all() { return Array.from(rows.querySelectorAll("tr[data-flag-id]")); }
  function select(i) {
    const list = all(); if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (tr, j) { tr.classList.toggle("current", j === current); });
    list[current].scrollIntoView({ block: "nearest" });
  }
  // The session's CSRF token, from the page's meta tag: every form post and unsafe /api call carries it.
  function csrfToken() { const meta = document.querySelector('meta[name="csrf-token"]'); return meta ? meta.content : ""; }
  function post(op) {
    const tr = all()[current]; if (!tr || rows.dataset.canAct !== "true") return;
    const form = document.createElement("form");
    form.method = "post"; form.action = "/flags/" + encodeURIComponent(tr.dataset.flagId) + "/act";
    [["csrf_token", csrfToken()], ["op", op], ["next", "/"]].forEach(function (kv) {
      const input = document.createElement("input"); input.type = "hidden"; input.name = kv[0]; input.value = kv[1]; form.appendChild(input);
    });
    document.body.appendChild(form); form.submit();
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    const tr = all()[current];
    if (event.key === "j") select(current + 1);
    else if (event.key === "k") select(current - 1);
    else if (event.key === "o" && tr) window.location.href = "/flags/" + encodeURIComponent(tr.dataset.flagId);
    else if (event.key === "r" && tr) window.location.href = "/flags/" + encodeURIComponent(tr.dataset.flagId) + "#reply-form";
    else if (event.key === "h") post("hide");
    else if (event.key === "d") post("dismiss");
  });
})();

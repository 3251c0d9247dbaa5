// Flag page: the language selector shows each template in that language; "Use this" copies the shown text
// into the reply box; single-key shortcuts.
(function () {
  const text = document.getElementById("reply-text");
  const templateId = document.getElementById("template-id");
  const privateBox = document.getElementById("private");
  const language = document.getElementById("reply-language");
  function showLanguage() {
    if (!language) return;
    document.querySelectorAll(".template").forEach(function (card) {
      const bodies = card.querySelectorAll(".template-body[data-language]");
      let shown = false;
      bodies.forEach(function (body) { body.hidden = body.dataset.language !== language.value; shown = shown || !body.hidden; });
      const use = card.querySelector(".use-template");
      if (use) use.disabled = !card.querySelector('.template-body[data-language="' + CSS.escape(language.value) + '"] .template-text');
      card.classList.toggle("unwritten", !shown);
    });
  }
  if (language) { language.addEventListener("change", showLanguage); showLanguage(); }
  document.querySelectorAll(".use-template").forEach(function (button) {
    button.addEventListener("click", function () {
      const card = button.closest(".template");
      const wanted = language ? '.template-body[data-language="' + CSS.escape(language.value) + '"] .template-text' : ".template-text";
      const body = card.querySelector(wanted);
      text.value = body ? body.textContent : "";
      templateId.value = button.dataset.templateId;
      if (privateBox) privateBox.checked = button.dataset.private === "true";
      text.focus();
    });
  });
  if (text) text.addEventListener("input", function () { templateId.value = ""; });
  // `r` in the queue opens this page at #reply-form: focus the box once the page has settled (the browser's
  // own scroll to the anchor comes after the scripts run), and put the caret at the end.
  function focusReply() { if (!text || text.disabled) return; text.focus({ preventScroll: false }); text.setSelectionRange(text.value.length, text.value.length); }
  if (text && window.location.hash === "#reply-form") { focusReply(); window.addEventListener("load", focusReply); }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    if (event.key === "r" && text && !text.disabled) { event.preventDefault(); text.focus(); return; }
    if (event.key === "u") { window.location.href = "/"; return; }
    const button = document.querySelector('button[data-key="' + event.key + '"]');
    if (button && !button.disabled) { event.preventDefault(); button.click(); }
  });
})();

// Live updates: the flag's moderation state arrives over Server-Sent Events (/api/stream/flags/{id}) whenever
// it changes (status, severity, team and assignee, claim, action results, notes, audit entries) and replaces
// those parts of the page. Every value from the server is set with textContent, never as HTML.
(function () {
  const article = document.querySelector("article.flag[data-flag-id]");
  const live = document.getElementById("flag-live");
  if (!article || !window.EventSource) return;
  const SEVERITIES = ["low", "medium", "high", "critical"];
  const me = article.dataset.me;

  function words(value) { return String(value).split("_").join(" "); }
  function setText(id, value) {
    const el = document.getElementById(id);
    if (el && el.textContent !== value) { el.textContent = value; return true; }
    return false;
  }
  function show(id, visible) { const el = document.getElementById(id); if (el) el.hidden = !visible; }
  const element = TriageDom.element;

  function claim(holder) {
    const wrap = document.getElementById("claim-state");
    if (wrap) {
      wrap.replaceChildren();
      if (holder) { wrap.append("claimed by "); const s = element("strong", "", holder); s.id = "claim"; wrap.appendChild(s); }
      else { const s = element("span", "", "not claimed"); s.id = "claim"; wrap.appendChild(s); }
    }
    const form = document.getElementById("claim-form");
    if (form) {
      const mine = holder === me;
      form.querySelector("input[name=op]").value = mine ? "release" : "claim";
      form.querySelector("button").textContent = mine ? "Release claim" : "Claim";
    }
  }

  function severity(value) {
    const badge = document.getElementById("flag-severity");
    if (badge) { badge.textContent = value; badge.className = "sev sev-" + value; }
    SEVERITIES.forEach(function (s) { article.classList.toggle("sev-" + s, s === value); });
    const select = document.querySelector("#severity-form select");
    if (select) {
      Array.from(select.options).forEach(function (o) { if (SEVERITIES.indexOf(o.value) <= SEVERITIES.indexOf(value)) o.remove(); });
      if (!select.options.length) document.getElementById("severity-form").hidden = true;
    }
  }

  function notes(list) {
    const ul = document.getElementById("notes");
    if (!ul) return;
    ul.replaceChildren();
    if (!list.length) ul.appendChild(element("li", "muted", "No notes."));
    list.forEach(function (n) {
      const li = element("li");
      li.appendChild(element("strong", "", n.author));
      li.append(" ");
      li.appendChild(element("span", "muted", n.at));
      li.append(": " + n.body);
      ul.appendChild(li);
    });
  }

  function audit(entries) {
    const table = document.getElementById("audit");
    if (!table) return;
    const rows = table.querySelectorAll("tr");
    rows.forEach(function (tr, i) { if (i > 0) tr.remove(); });
    const body = rows.length ? rows[0].parentNode : table;
    if (!entries.length) { const tr = element("tr"); const td = element("td", "muted", "Nothing yet."); td.colSpan = 4; tr.appendChild(td); body.appendChild(tr); }
    entries.forEach(function (e) {
      const tr = element("tr");
      tr.dataset.auditId = String(e.id);
      const at = element("time", "local", e.at + " UTC"); at.dateTime = e.at.replace(" ", "T") + "Z"; at.dataset.format = "datetime";
      if (window.TriageTimes) window.TriageTimes.localise(at);
      const when = element("td"); when.appendChild(at); tr.appendChild(when);
      tr.appendChild(element("td", "", e.actor));
      tr.appendChild(element("td", "audit-action", e.action));
      tr.appendChild(element("td", "muted", e.detail));
      body.appendChild(tr);
    });
  }

  function replies(list) {
    list.forEach(function (r) {
      const item = document.querySelector('.sent-reply[data-action-id="' + CSS.escape(r.id) + '"]');
      if (!item) { if (r.status !== "pending_approval") show("stale", true); return; }
      item.dataset.status = r.status;
      const status = item.querySelector(".reply-status");
      if (status) status.textContent = words(r.status) + (r.error ? " · " + r.error : "");
    });
  }

  let due = null, open = false;
  function tick() {
    show("breach", open && due !== null && Date.parse(due) < Date.now());
  }

  function apply(state) {
    article.dataset.version = state.version;
    const changed = setText("flag-status", words(state.status));
    severity(state.severity);
    setText("team", state.team || "none");
    setText("assignee", state.assignee || "nobody");
    claim(state.claim);
    setText("last-action", state.last_action || "");
    show("last-action-wrap", !!state.last_action);
    setText("last-error-text", state.last_action_error || "");
    show("last-error", !!state.last_action_error);
    const dueEl = document.getElementById("due");
    if (dueEl) { dueEl.dateTime = state.due_at; dueEl.textContent = state.due_at.slice(11, 16) + " UTC"; if (window.TriageTimes) window.TriageTimes.localise(dueEl); }
    due = state.due_at; open = state.open;
    tick();
    notes(state.notes);
    audit(state.audit);
    replies(state.replies || []);
    if (state.pending.join(",") !== (article.dataset.pending || "")) show("stale", true);
    const meta = document.getElementById("flag-meta");
    if (meta) { meta.classList.remove("changed"); void meta.offsetWidth; meta.classList.add("changed"); }
    if (changed) { const status = document.getElementById("flag-status"); if (status) status.classList.add("changed"); }
  }

  const dueEl = document.getElementById("due");
  if (dueEl) due = dueEl.dateTime;
  open = article.dataset.open === "true";
  setInterval(tick, 5000);

  const url = "/api/stream/flags/" + encodeURIComponent(article.dataset.flagId) + "?version=" + encodeURIComponent(article.dataset.version || "");
  const source = new EventSource(url);
  source.onopen = function () { if (live) live.textContent = "live"; };
  source.onerror = function () { if (live) live.textContent = "live updates: reconnecting…"; };
  source.addEventListener("flag-update", function (message) { apply(JSON.parse(message.data)); });
  source.addEventListener("gone", function () { source.close(); if (live) live.textContent = "this flag no longer exists"; });
})();

// Drafts page: check a post or reply (POST /api/drafts/check), save it, approve it (leads), publish it.
// Every change is a fetch with the session's CSRF token in X-CSRF-Token; text is only ever set with
// textContent (drafts may hold anything), never as markup.
(function () {
  const app = document.getElementById("drafts-app");
  if (!app) return;
  const isLead = app.dataset.isLead === "true";
  const canAct = app.dataset.canAct === "true";
  const posting = (app.dataset.posting || "").split(",");
  const $ = function (id) { return document.getElementById(id); };
  let current = null; // the saved draft shown, if any

  function csrfToken() { const meta = document.querySelector('meta[name="csrf-token"]'); return meta ? meta.content : ""; }

  async function api(method, url, body) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
    const response = await fetch(url, { method: method, headers: headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) { showError(response.status, data); throw new Error("request failed"); }
    hideError();
    return data;
  }

  function showError(status, data) {
    const box = $("draft-error");
    box.textContent = "";
    const strong = document.createElement("strong");
    let detail = data && data.detail;
    if (Array.isArray(detail)) detail = detail.map(function (d) { return (d.loc || []).slice(1).join(".") + ": " + d.msg; }).join("; ");
    strong.textContent = detail || ("request failed (" + status + ")");
    box.appendChild(strong);
    if (data && Array.isArray(data.reasons)) {
      const list = document.createElement("ul");
      data.reasons.forEach(function (r) { const li = document.createElement("li"); li.textContent = r; list.appendChild(li); });
      box.appendChild(list);
    }
    box.hidden = false;
  }
  function hideError() { $("draft-error").hidden = true; }

  function formBody() {
    const replyTo = $("draft-reply-to").value;
    return {
      text: $("draft-text").value,
      platform: $("draft-platform").value,
      account_id: $("draft-account").value || "*",
      caption: $("draft-caption").value,
      links: $("draft-links").value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean),
      sponsored: $("draft-sponsored").checked,
      sponsor: $("draft-sponsor").value,
      reply_to: replyTo.trim() ? replyTo : null,
    };
  }

  function fill(draft) {
    $("draft-id").value = draft.id;
    $("draft-text").value = draft.text;
    $("draft-platform").value = draft.platform;
    $("draft-account").value = draft.account_id;
    $("draft-caption").value = draft.caption;
    $("draft-links").value = (draft.links || []).join("\n");
    $("draft-sponsored").checked = draft.sponsored;
    $("draft-sponsor").value = draft.sponsor;
    $("draft-reply-to").value = "";
  }

  // The text with each finding's span marked; overlapping spans are merged into one mark.
  function highlight(element, text, findings, field) {
    element.textContent = "";
    const spans = findings.filter(function (f) { return f.field === field && f.end > f.start; })
      .map(function (f) { return { start: f.start, end: f.end, kind: f.kind, index: f.index }; })
      .sort(function (a, b) { return a.start - b.start || b.end - a.end; });
    let at = 0;
    spans.forEach(function (s) {
      if (s.end <= at) return;
      const start = Math.max(s.start, at);
      if (start > at) element.appendChild(document.createTextNode(text.slice(at, start)));
      const mark = document.createElement("mark");
      mark.className = "finding finding-" + s.kind;
      mark.dataset.kind = s.kind;
      mark.title = "finding " + s.index;
      mark.textContent = text.slice(start, s.end);
      element.appendChild(mark);
      at = s.end;
    });
    if (at < text.length) element.appendChild(document.createTextNode(text.slice(at)));
  }

  function showFindings(body, findings, summary) {
    findings.forEach(function (f, i) { f.index = i + 1; });
    $("draft-result").hidden = false;
    $("draft-summary").textContent = summary;
    highlight($("preview-text"), body.text, findings, "text");
    $("caption-block").hidden = !body.caption;
    highlight($("preview-caption"), body.caption || "", findings, "caption");
    const list = $("findings");
    list.textContent = "";
    findings.forEach(function (f) {
      const li = document.createElement("li");
      li.className = "finding-item";
      li.dataset.kind = f.kind;
      const title = document.createElement("strong");
      title.textContent = f.title + ": " + f.message;
      li.appendChild(title);
      if (f.excerpt) { const ex = document.createElement("q"); ex.textContent = f.excerpt; li.appendChild(document.createTextNode(" ")); li.appendChild(ex); }
      if (f.field === "caption") li.appendChild(document.createTextNode(" (caption)"));
      const guidance = document.createElement("div"); guidance.className = "guidance"; guidance.textContent = "Guidance: " + f.guidelines.join("; "); li.appendChild(guidance);
      const fix = document.createElement("div"); fix.className = "fix"; fix.textContent = "Fix: " + f.fix; li.appendChild(fix);
      list.appendChild(li);
    });
  }

  function showDraft(draft) {
    current = draft;
    fill(draft);
    const n = draft.findings.length;
    showFindings(draft, draft.findings, n ? n + " finding" + (n === 1 ? "" : "s") : "no findings");
    $("draft-status-line").hidden = false;
    $("draft-status").textContent = draft.status.replace("_", " ");
    $("draft-approval").textContent = draft.approved_by ? "approved by " + draft.approved_by : (draft.needs_approval ? "needs a lead's approval" : "");
    const open = draft.status === "draft";
    $("draft-actions").hidden = !open;
    $("approve-draft").hidden = !(open && isLead && draft.needs_approval);
    $("publish-draft").hidden = !(open && canAct && draft.can_publish_to_platform && (!draft.needs_approval || isLead));
    $("publish-draft").disabled = !open;
    if (history.replaceState) history.replaceState(null, "", "/drafts?id=" + encodeURIComponent(draft.id));
    loadAudit(draft.id);
    loadList();
  }

  async function loadAudit(id) {
    const rows = await api("GET", "/api/drafts/" + encodeURIComponent(id) + "/audit");
    const body = $("draft-audit").querySelector("tbody");
    body.textContent = "";
    rows.forEach(function (e) {
      const tr = document.createElement("tr");
      tr.className = "audit-row";
      tr.dataset.action = e.action;
      const detail = Object.keys(e.detail).filter(function (k) { return k !== "draft_id" && e.detail[k] !== null; })
        .map(function (k) { const v = e.detail[k]; return k + ": " + (typeof v === "object" ? JSON.stringify(v) : v); }).join(" · ");
      [new Date(e.at).toLocaleString(), e.actor, e.action, detail].forEach(function (text) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
      body.appendChild(tr);
    });
    $("draft-audit-block").hidden = rows.length === 0;
  }

  async function loadList() {
    const drafts = await api("GET", "/api/drafts");
    const body = $("draft-list").querySelector("tbody");
    body.textContent = "";
    drafts.forEach(function (d) {
      const tr = document.createElement("tr");
      const cells = [new Date(d.updated_at).toLocaleString(), d.platform, d.status.replace("_", " "), String(d.findings.length)];
      cells.forEach(function (text) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
      const td = document.createElement("td"); td.className = "text";
      const a = document.createElement("a"); a.href = "/drafts?id=" + encodeURIComponent(d.id); a.textContent = d.text.slice(0, 120); a.className = "open-draft";
      a.addEventListener("click", function (event) { event.preventDefault(); api("GET", "/api/drafts/" + encodeURIComponent(d.id)).then(showDraft); });
      td.appendChild(a); tr.appendChild(td);
      body.appendChild(tr);
    });
  }

  $("check-draft").addEventListener("click", function () {
    const body = formBody();
    api("POST", "/api/drafts/check", body).then(function (result) {
      const n = result.findings.length;
      showFindings(body, result.findings, n ? n + " finding" + (n === 1 ? "" : "s") + " (not saved)" : "no findings (not saved)");
    }).catch(function () {});
  });
  $("save-draft").addEventListener("click", function () {
    const id = $("draft-id").value;
    const body = formBody();
    delete body.reply_to;
    api(id ? "PUT" : "POST", id ? "/api/drafts/" + encodeURIComponent(id) : "/api/drafts", body).then(showDraft).catch(function () {});
  });
  $("new-draft").addEventListener("click", function () { window.location.href = "/drafts"; });
  $("approve-draft").addEventListener("click", function () {
    if (!current) return;
    api("POST", "/api/drafts/" + encodeURIComponent(current.id) + "/approve", {}).then(showDraft).catch(function () {});
  });
  $("publish-draft").addEventListener("click", function () {
    if (!current) return;
    $("publish-draft").disabled = true;
    api("POST", "/api/drafts/" + encodeURIComponent(current.id) + "/publish", {}).then(showDraft).catch(function () { $("publish-draft").disabled = false; });
  });
  $("draft-platform").addEventListener("change", function () {
    const allowed = posting.indexOf($("draft-platform").value) >= 0;
    $("draft-platform").title = allowed ? "" : "this platform does not allow text posts through its API: check only";
  });

  const wanted = new URLSearchParams(window.location.search).get("id");
  if (wanted) api("GET", "/api/drafts/" + encodeURIComponent(wanted)).then(showDraft).catch(function () {});
  else loadList().catch(function () {});
})();

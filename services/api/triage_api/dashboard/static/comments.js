// All comments: comments the classifier judges arrive over Server-Sent Events (/api/stream/comments) and are
// inserted at their place (close to a threshold first, or newest first) when they match the page's filters;
// "Flag this" posts the chosen labels and note with the session's CSRF token. Every value from the server is
// set with textContent.
(function () {
  const rows = document.getElementById("comment-rows");
  const live = document.getElementById("live");
  if (!rows) return;
  const csrf = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
  const LABELS = rows.dataset.labels.split(" ");
  const BANDS = { flagged: "flagged", near: "close", clear: "clear" };

  const el = TriageDom.element;

  function flagForm(id) {
    const details = el("details", "flag-this");
    details.appendChild(el("summary", "", "Flag this"));
    const form = el("form", "flag-this-form");
    form.dataset.commentId = id;
    LABELS.forEach(function (l) {
      const label = el("label");
      const box = el("input"); box.type = "checkbox"; box.name = "labels"; box.value = l;
      label.appendChild(box); label.append(" " + l.replace("_", " "));
      form.appendChild(label); form.append(" ");
    });
    const note = el("textarea"); note.name = "note"; note.maxLength = 5000; note.rows = 2; note.placeholder = "note (why)";
    form.appendChild(note);
    const button = el("button", "", "Raise flag"); button.type = "submit";
    form.appendChild(button); form.append(" ");
    const result = el("span", "flag-this-result"); result.setAttribute("role", "status");
    form.appendChild(result);
    details.appendChild(form);
    return details;
  }

  function row(c) {
    const tr = el("tr", "band-" + c.band + " fresh");
    tr.dataset.commentId = c.id;
    tr.dataset.margin = c.margin === null ? "" : String(c.margin);
    tr.dataset.judged = c.judged_at;
    const score = tr.appendChild(el("td", "score"));
    if (c.closest_label) {
      const s = c.scores[c.closest_label] || 0, t = c.thresholds[c.closest_label];
      score.appendChild(el("span", "band band-" + c.band, c.closest_label.replace("_", " ") + " " + s.toFixed(2) + " / " + t.toFixed(2)));
    } else score.appendChild(el("span", "muted", "–"));
    const labels = tr.appendChild(el("td"));
    c.labels.forEach(function (l) { labels.appendChild(el("span", "label label-" + l, l.replace("_", " "))); labels.append(" "); });
    const text = tr.appendChild(el("td", "text"));
    if (c.deleted) text.appendChild(el("span", "muted", "deleted on the platform")); else text.append(c.text || "");
    text.appendChild(el("div", "author", c.author_handle));
    const where = tr.appendChild(el("td")); where.append(c.platform); where.appendChild(el("br")); where.appendChild(el("span", "muted", c.account_handle));
    tr.appendChild(el("td", "", c.language || "–"));
    const judged = el("time", "local", c.judged_at.slice(0, 16).replace("T", " ") + " UTC"); judged.dateTime = c.judged_at;
    tr.appendChild(el("td")).appendChild(judged);
    if (window.TriageTimes) window.TriageTimes.localise(judged);
    if (rows.dataset.canFlag === "true") {
      const cell = tr.appendChild(el("td", "flag-this-cell"));
      if (!c.deleted) cell.appendChild(flagForm(c.id));
    }
    return tr;
  }

  function matches(c) {
    const f = rows.dataset;
    if (f.filterPlatform && c.platform !== f.filterPlatform) return false;
    if (f.filterAccount && c.account_id !== f.filterAccount && c.account_handle !== f.filterAccount) return false;
    if (f.filterLanguage && (c.language || "") !== f.filterLanguage) return false;
    if (f.filterBand && c.band !== f.filterBand) return false;
    return true;
  }

  // The server's order (comments.service.list_comments): passed comments by margin, then flagged, then those
  // without thresholds; newest first within ties. Newest first: by judged time.
  function key(tr) {
    const m = tr.dataset.margin === "" ? null : Number(tr.dataset.margin), judged = -Date.parse(tr.dataset.judged);
    if (rows.dataset.order === "newest") return [judged];
    return [m === null ? 2 : m > 0 ? 0 : 1, m === null ? 0 : m, judged];
  }
  function before(a, b) {
    const ka = key(a), kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i];
    return false;
  }
  function place(tr) {
    const empty = rows.querySelector(".empty-row");
    if (empty) empty.remove();
    const old = rows.querySelector('tr[data-comment-id="' + CSS.escape(tr.dataset.commentId) + '"]');
    if (old) old.remove();
    for (const other of rows.children) if (before(tr, other)) { rows.insertBefore(tr, other); return; }
    rows.appendChild(tr);
  }

  rows.addEventListener("submit", async function (event) {
    const form = event.target.closest(".flag-this-form");
    if (!form) return;
    event.preventDefault();
    const result = form.querySelector(".flag-this-result");
    const labels = Array.from(form.querySelectorAll("input[name=labels]:checked")).map(function (b) { return b.value; });
    if (!labels.length) { result.textContent = "choose at least one label"; return; }
    result.textContent = "raising…";
    const response = await fetch("/api/comments/" + encodeURIComponent(form.dataset.commentId) + "/flag", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ labels: labels, note: form.querySelector("textarea[name=note]").value }),
    });
    const body = await response.json().catch(function () { return {}; });
    if (response.ok) {
      result.textContent = "";
      const link = el("a", "flag-link", "flagged" + (body.paged ? ", on-call paged" : "")); link.href = "/flags/" + encodeURIComponent(body.flag_id);
      result.appendChild(link);
      form.querySelector("button[type=submit]").disabled = true;
    } else {
      result.textContent = response.status === 409 ? "already flagged" : (body.detail && typeof body.detail === "string" ? body.detail : "could not flag (" + response.status + ")");
    }
  });

  const source = new EventSource("/api/stream/comments?since=" + encodeURIComponent(rows.dataset.since));
  source.addEventListener("open", function () { live.textContent = "live"; });
  source.addEventListener("error", function () { live.textContent = "live updates: reconnecting…"; });
  source.addEventListener("comment", function (event) {
    const c = JSON.parse(event.data);
    if (matches(c)) place(row(c));
  });
})();

// Times in the browser's zone: every <time class="local"> the server wrote in UTC is shown in the reader's own
// zone (its abbreviation after it); the UTC time stays in the element's title, for hovering. Pages that add
// times later (the live queue, the flag page) call TriageTimes.localise on them.
(function () {
  function pad(n) { return String(n).padStart(2, "0"); }
  function zone(date) {
    try {
      const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(date).find(function (p) { return p.type === "timeZoneName"; });
      return part ? part.value : "";
    } catch (e) { return ""; }
  }
  function text(date, kind) {
    const time = pad(date.getHours()) + ":" + pad(date.getMinutes());
    const day = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
    return (kind === "time" ? time : day + " " + time) + " " + zone(date);
  }
  function utc(date, kind) {
    const iso = date.toISOString();
    return (kind === "time" ? iso.slice(11, 16) : iso.slice(0, 16).replace("T", " ")) + " UTC";
  }
  function localise(el) {
    const date = new Date(el.dateTime);
    if (isNaN(date.getTime())) return;
    const kind = el.dataset.format || "datetime";
    el.textContent = text(date, kind).trim();
    el.title = utc(date, kind);
  }
  window.TriageTimes = { localise: localise, text: text, utc: utc };
  document.querySelectorAll("time.local").forEach(localise);
})();

// What the desk's live pages share to build their rows and panels: an element whose text is set with
// textContent only, so a value from the server is never read as HTML. Loaded by every page, before its own code.
(function () {
  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }
  window.TriageDom = { element: element };
})();

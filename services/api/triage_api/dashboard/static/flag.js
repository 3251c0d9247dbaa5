// Flag page: "Use this" copies a filled-in template into the reply box; single-key shortcuts.
(function () {
  const text = document.getElementById("reply-text");
  const templateId = document.getElementById("template-id");
  const privateBox = document.getElementById("private");
  document.querySelectorAll(".use-template").forEach(function (button) {
    button.addEventListener("click", function () {
      const card = button.closest(".template");
      const body = card.querySelector(".template-text");
      text.value = body ? body.textContent : "";
      templateId.value = button.dataset.templateId;
      if (privateBox) privateBox.checked = button.dataset.private === "true";
      text.focus();
    });
  });
  if (text) text.addEventListener("input", function () { templateId.value = ""; });
  if (text && window.location.hash === "#reply-form" && !text.disabled) text.focus();
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

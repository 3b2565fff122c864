// Listing editor enhancements; the editor works fully without JavaScript.
(function () {
  "use strict";
  const editor = document.querySelector("form.listing-editor");
  if (!editor) {
    return;
  }
  // "Open 24/7" hides the per-day rows it makes irrelevant (they are ignored when saved).
  const always = editor.querySelector("#is_24_7");
  const table = editor.querySelector(".hours-table");
  if (always && table) {
    const sync = () => { table.hidden = always.checked; };
    always.addEventListener("change", sync);
    sync();
  }
  // Keep the county counts in the <summary> lines current while ticking.
  editor.querySelectorAll("details.county-picker").forEach((details) => {
    const summary = details.querySelector("summary");
    const boxes = details.querySelectorAll("input[type=checkbox]");
    const label = summary.textContent.replace(/\s*\(\d+ chosen\)\s*$/, "");
    const update = () => {
      const n = Array.from(boxes).filter((b) => b.checked).length;
      summary.textContent = `${label} (${n} chosen)`;
    };
    boxes.forEach((b) => b.addEventListener("change", update));
  });
  // Warn before leaving with unsaved edits.
  let dirty = false;
  editor.addEventListener("input", () => { dirty = true; });
  editor.addEventListener("submit", () => { dirty = false; });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) {
      event.preventDefault();
    }
  });
})();

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
    // A search box over the 115 counties: typing narrows the list to matching names (and keeps
    // ticked ones in view), so a county is a few keystrokes away instead of a long scroll.
    const grid = details.querySelector(".check-grid");
    if (!grid) {
      return;
    }
    const id = `${grid.parentElement.id || "counties"}-find`;
    const wrap = document.createElement("div");
    wrap.className = "mb-2 county-find";
    wrap.innerHTML = `<label class="form-label small" for="${id}">Find a county</label>`
      + `<input class="form-control form-control-sm" type="search" id="${id}" autocomplete="off">`
      + `<p class="form-text small mb-0" aria-live="polite"></p>`;
    grid.before(wrap);
    const input = wrap.querySelector("input");
    const status = wrap.querySelector("p");
    input.addEventListener("input", () => {
      const q = input.value.trim().toLowerCase();
      let shown = 0;
      grid.querySelectorAll(".form-check").forEach((row) => {
        const box = row.querySelector("input");
        const text = row.textContent.trim().toLowerCase();
        const match = !q || text.includes(q) || box.checked;
        row.hidden = !match;
        if (match) { shown += 1; }
      });
      status.textContent = q ? `${shown} shown` : "";
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); } // never submit the form from here
    });
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

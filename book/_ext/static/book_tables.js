// Every cell of a result table gets the name of its column (data-label), so that on a phone
// (book_tables.css) a row shows as a card: one line per value, the column's name beside it.
// Multi-level headers are joined with " · "; row and column spans are followed.
// A table too wide for its box is set denser (book_tables.css).
(function () {
  function grid(rows) {
    const cells = [];
    rows.forEach((row, r) => {
      cells[r] = cells[r] || [];
      let c = 0;
      for (const cell of row.cells) {
        while (cells[r][c]) c++;
        const rs = cell.rowSpan || 1, cs = cell.colSpan || 1;
        for (let i = 0; i < rs; i++) {
          cells[r + i] = cells[r + i] || [];
          for (let j = 0; j < cs; j++) cells[r + i][c + j] = { cell, start: c };
        }
        c += cs;
      }
    });
    return cells;
  }
  function label(table) {
    const head = table.tHead ? [...table.tHead.rows] : [];
    const body = [...table.tBodies].flatMap((b) => [...b.rows]);
    if (!head.length || !body.length) return;
    const headGrid = grid(head);
    const width = Math.max(...headGrid.map((r) => r.length));
    const names = [];
    for (let c = 0; c < width; c++) {
      const parts = [];
      headGrid.forEach((r) => {
        const text = r[c] ? r[c].cell.textContent.trim() : "";
        if (text && parts[parts.length - 1] !== text) parts.push(text);
      });
      names.push(parts.join(" · "));
    }
    grid(body).forEach((r) => r.forEach((slot) => {
      if (slot && !slot.cell.hasAttribute("data-label"))
        slot.cell.setAttribute("data-label", names[slot.start] || "");
    }));
    table.classList.add("book-cards");
  }
  // A table wider than its box at the normal size gets a denser one (smaller font, less
  // padding) before it would have to scroll.
  function densify(table) {
    const box = table.parentElement;
    if (box && table.getBoundingClientRect().width > box.clientWidth + 0.5)
      table.classList.add("book-table-dense");
  }
  function run() {
    const tables = document.querySelectorAll(
      "figure.book-table table, div.cell_output table.dataframe");
    tables.forEach(label);
    tables.forEach(densify);
    // again once fonts and math (MathJax typesets after this script) have their final width
    window.addEventListener("load", () => {
      tables.forEach(densify);
      if (window.MathJax && MathJax.startup && MathJax.startup.promise)
        MathJax.startup.promise.then(() => tables.forEach(densify));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();

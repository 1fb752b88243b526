// Every cell of a result table gets the name of its column (data-label), so that on a phone
// (book_tables.css) a row shows as a card: one line per value, the column's name beside it.
// Multi-level headers are joined with " · "; row and column spans are followed.
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
  function run() {
    document.querySelectorAll("figure.book-table table, div.cell_output table.dataframe")
      .forEach(label);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();

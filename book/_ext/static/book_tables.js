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
  // A line may break at the spaces of a cell, never inside a word or a number: browsers also
  // break after a hyphen ("1.9e-" over "06", "Mann-" over "Whitney", a reader found both),
  // and inside "[low, high]", "0.98 ± 0.01" or "10 000", which then read as several words.
  // Each such unit of a plain-text cell is kept whole (book_tables.css: .book-word). A table
  // then too wide for its box is set denser; if still too wide, tests/browser fails.
  // units: "(mean ± std)" and its "× 10⁻⁵" (a line may break before the ×: Table III fits),
  // an interval "[low, high]", "mean ± std", "1.9 × 10⁻⁶", a number with thousands "10 000",
  // a word (the same units as tests/browser/test_published_book.py)
  const UNITS = /\(\S+ ± \S+\)|(?<=\) )× 10\S+|\[[^\]]*\]|\S+ ± \S+|\S+ × 10\S+|\d{1,3}(?: \d{3})+(?!\d)|\S+/g;
  function keepWords(table) {
    table.querySelectorAll("th, td").forEach((cell) => {
      if ([...cell.childNodes].some((n) => n.nodeType !== Node.TEXT_NODE)) return;
      const text = cell.textContent.trim();
      if (!/\S-\S|\[[^\]]*\s[^\]]*\]| [±×] |\d \d{3}/.test(text)) return;  // nothing to keep
      cell.textContent = "";
      text.match(UNITS).forEach((unit, k) => {
        if (k) cell.appendChild(document.createTextNode(" "));
        const word = document.createElement("span");
        word.className = "book-word";
        word.textContent = unit;
        cell.appendChild(word);
      });
    });
  }
  function run() {
    const tables = document.querySelectorAll(
      "figure.book-table table, div.cell_output table.dataframe");
    tables.forEach(keepWords);
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

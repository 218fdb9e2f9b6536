// quaywatch: moving through a table's rows by keyboard (worklist, orders).
// In a table marked data-keyed, j or ArrowDown moves the focus to the next row's first link,
// k or ArrowUp to the previous one; Enter then follows the link as usual. Keys typed in a form
// field are left alone. No inline script: the pages' Content-Security-Policy forbids it.
(function () {
  "use strict";
  var NEXT = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };

  function rowLinks(table) {
    return Array.prototype.slice.call(table.querySelectorAll("tbody tr a.row-link"));
  }

  document.addEventListener("keydown", function (event) {
    var step = NEXT[event.key];
    if (!step || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var target = event.target;
    if (target && target.closest && target.closest("input, select, textarea, [contenteditable]")) {
      return;
    }
    var table = (target && target.closest && target.closest("table[data-keyed]")) ||
      document.querySelector("table[data-keyed]");
    if (!table) {
      return;
    }
    var links = rowLinks(table);
    if (!links.length) {
      return;
    }
    var at = links.indexOf(document.activeElement);
    var next = at < 0 ? (step > 0 ? 0 : links.length - 1) : at + step;
    if (next < 0 || next >= links.length) {
      return;
    }
    event.preventDefault();
    links[next].focus();
    links[next].closest("tr").scrollIntoView({ block: "nearest" });
  });
})();

// Sorting and filtering of the report's tables; no network access, no external code.
(function () {
  function cellValue(row, index, type) {
    var cell = row.cells[index];
    if (type === "number") { return parseFloat(cell.getAttribute("data-value") || cell.textContent) || 0; }
    return cell.textContent.trim().toLowerCase();
  }
  document.querySelectorAll("table").forEach(function (table) {
    table.querySelectorAll("th").forEach(function (th, index) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var type = th.getAttribute("data-type"), up = th.getAttribute("aria-sort") !== "ascending";
        rows.sort(function (a, b) {
          var x = cellValue(a, index, type), y = cellValue(b, index, type);
          return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
        table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
      });
    });
  });
  var filter = document.getElementById("filter"), severity = document.getElementById("severity");
  function apply() {
    var text = filter.value.trim().toLowerCase(), state = severity.value;
    document.querySelectorAll("#account-table tbody tr").forEach(function (row) {
      var shown = (!text || row.textContent.toLowerCase().indexOf(text) >= 0) &&
                  (!state || row.getAttribute("data-state") === state);
      row.style.display = shown ? "" : "none";
    });
  }
  if (filter) { filter.addEventListener("input", apply); severity.addEventListener("change", apply); }
  document.documentElement.setAttribute("data-report-ready", "yes");
})();

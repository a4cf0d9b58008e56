// knm console: small enhancements; every page works without them.
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!(t instanceof Element)) { return; }
    var copy = t.closest("[data-copy]");
    if (copy) {
      var src = document.getElementById(copy.getAttribute("data-copy"));
      if (src && navigator.clipboard) {
        navigator.clipboard.writeText(src.textContent.trim()).then(function () {
          copy.textContent = "Copied";
        }, function () {
          copy.textContent = "Select the key and copy it";
        });
      }
    }
  });
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (!(t instanceof HTMLInputElement) || !t.hasAttribute("data-select-all")) { return; }
    var boxes = document.querySelectorAll("input[name='" + t.getAttribute("data-select-all") + "']");
    boxes.forEach(function (b) { b.checked = t.checked; });
  });
})();

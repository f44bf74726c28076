// Page behaviour without inline script (the Content-Security-Policy forbids it):
// - <form data-confirm="..."> and <button data-confirm="..."> ask before submitting;
// - <input type="checkbox" data-select-all="NAME"> ticks every NAME checkbox in its table.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || form.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.dataset || !box.dataset.selectAll) {
      return;
    }
    var table = box.closest("table");
    var selector = 'tbody input[type=checkbox][name="' + box.dataset.selectAll + '"]';
    table.querySelectorAll(selector).forEach(function (other) {
      other.checked = box.checked;
    });
  });
})();

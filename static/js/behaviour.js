// Page behaviour without inline script (the Content-Security-Policy forbids it):
// - <form data-confirm="..."> and <button data-confirm="..."> ask before submitting;
// - <input type="checkbox" data-select-all="NAME"> ticks every NAME checkbox in its table
//   (or in its [data-select-scope] element);
// - <button class="nav-toggle"> folds its header's navigation into a menu on a phone (the CSS
//   hides what .nav-collapsible without .nav-open holds at narrow widths only).
// - <button type="button" data-copy="#ID"> copies the text of element ID to the clipboard.
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
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    var source = button && document.querySelector(button.dataset.copy);
    if (!source) {
      return;
    }
    var text = source.textContent.trim();
    var done = function () {
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      // Plain-HTTP addresses other than localhost have no Clipboard API.
      var range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      if (document.execCommand("copy")) {
        done();
      }
    }
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.dataset || !box.dataset.selectAll) {
      return;
    }
    // The scope: the nearest [data-select-scope] (a group of a form), else the table body.
    var scope = box.closest("[data-select-scope]");
    var selector = 'input[type=checkbox][name="' + box.dataset.selectAll + '"]';
    if (!scope) {
      scope = box.closest("table");
      selector = "tbody " + selector;
    }
    scope.querySelectorAll(selector).forEach(function (other) {
      other.checked = box.checked;
    });
  });
  // Unticking one member of a [data-select-scope] unticks its "all" box, which the server
  // would otherwise read as "every member".
  document.addEventListener("change", function (event) {
    var box = event.target;
    var scope = box.closest && box.closest("[data-select-scope]");
    if (!scope || box.checked || (box.dataset && box.dataset.selectAll)) {
      return;
    }
    scope.querySelectorAll("input[data-select-all]").forEach(function (all) {
      all.checked = false;
    });
  });
  document.querySelectorAll(".nav-toggle").forEach(function (button) {
    var header = button.closest("header");
    header.classList.add("nav-collapsible");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = header.classList.toggle("nav-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });
})();

// Billcycle's few behaviours on top of Bootstrap and htmx. No page has inline script or style
// (the Content-Security-Policy forbids both): what a page needs is here, driven by data-*.
(function () {
  function initTooltips(root) {
    root.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
      bootstrap.Tooltip.getOrCreateInstance(el);
    });
  }
  // A progress bar's width, from data-progress-width (a percentage).
  function sizeProgressBars(root) {
    root.querySelectorAll("[data-progress-width]").forEach(function (el) {
      el.style.width = el.getAttribute("data-progress-width") + "%";
    });
  }
  function init(root) {
    initTooltips(root);
    sizeProgressBars(root);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // htmx:load fires on each piece of content htmx adds (outerHTML swaps included).
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  // <form data-confirm-message="…">: asks before submitting.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm-message");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // A fragment may send parts of the page again out of band (a run's header while it bills).
  document.addEventListener("htmx:oobAfterSwap", function () { init(document); });

  // "Select all" and "Clear" for a group of checkboxes: a button with data-check-all="NAME"
  // ticks every box named NAME in its form, data-check-none="NAME" clears them; a change
  // event follows so that what listens to the form (the live scope count) sees it.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-check-all], [data-check-none]");
    if (!button || !button.form) { return; }
    var check = button.hasAttribute("data-check-all");
    var name = button.getAttribute(check ? "data-check-all" : "data-check-none");
    var boxes = button.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
    boxes.forEach(function (box) { box.checked = check; });
    if (boxes.length) { boxes[0].dispatchEvent(new Event("change", { bubbles: true })); }
  });
})();

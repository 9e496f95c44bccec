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
})();

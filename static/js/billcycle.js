// Billcycle's few behaviours on top of Bootstrap and htmx.
(function () {
  function initTooltips(root) {
    root.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
      bootstrap.Tooltip.getOrCreateInstance(el);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { initTooltips(document); });
  document.addEventListener("htmx:afterSwap", function (event) { initTooltips(event.target); });
  // A fragment may send parts of the page again out of band (a run's header while it bills).
  document.addEventListener("htmx:oobAfterSwap", function () { initTooltips(document); });

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

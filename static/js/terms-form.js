// The run terms form (new run, schedule): the account autocomplete and the scope sections.
// Loaded by billruns/includes/terms_form_script.html, whose <script> tag carries the form's id
// (data-form-id) and the autocomplete's address (data-autocomplete-url).
(function () {
  var script = document.currentScript;
  var form = document.getElementById(script.getAttribute("data-form-id"));
  var input = document.getElementById("id_account");
  input.setAttribute("list", "account-options");
  input.setAttribute("autocomplete", "off");
  input.setAttribute("hx-get", script.getAttribute("data-autocomplete-url"));
  input.setAttribute("hx-trigger", "input changed delay:250ms");
  input.setAttribute("hx-target", "#account-options");
  htmx.process(input);
  // Show only the fields of the chosen scope and frequency.
  function toggle(name, attribute, fallback) {
    var chosen = form.querySelector("input[name=" + name + "]:checked");
    var value = chosen ? chosen.value : fallback;
    form.querySelectorAll("[" + attribute + "]").forEach(function (section) {
      section.hidden = section.getAttribute(attribute) !== value;
    });
  }
  function update() {
    toggle("scope", "data-scope-section", "batches");
    toggle("frequency", "data-frequency-section", "");
  }
  form.addEventListener("change", update);
  update();
})();

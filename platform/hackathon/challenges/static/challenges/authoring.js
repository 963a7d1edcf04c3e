/* The authoring form shows only the inputs of the chosen track and data source: an input
   marked data-show-field="track" data-show-for="optimizer" shows while the select named
   track says optimizer. */
(function () {
  "use strict";
  var fields = document.querySelectorAll("[data-show-field]");
  if (!fields.length) { return; }
  function update() {
    fields.forEach(function (field) {
      var control = document.querySelector("[name=" + field.dataset.showField + "]");
      var shown = !control || field.dataset.showFor.split(" ").indexOf(control.value) !== -1;
      field.hidden = !shown;
      field.style.display = shown ? "" : "none";  /* .field sets a display of its own */
    });
  }
  document.querySelectorAll("select").forEach(function (select) {
    select.addEventListener("change", update);
  });
  update();
})();

/* The authoring form shows only the fields of the chosen data source. */
(function () {
  "use strict";
  var source = document.querySelector("select[name=data_source]");
  if (!source) { return; }
  var fields = document.querySelectorAll("[data-show-for]");
  function update() {
    fields.forEach(function (field) {
      var shown = field.dataset.showFor.split(" ").indexOf(source.value) !== -1;
      field.hidden = !shown;
      field.style.display = shown ? "" : "none";  /* .field sets a display of its own */
    });
  }
  source.addEventListener("change", update);
  update();
})();

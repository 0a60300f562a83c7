// alliance: small enhancements only; every page works without this file.
(function () {
  "use strict";
  // Visual-analogue lines: the slider and the number box stay in step; the number box is the
  // value that is sent, so an untouched slider never sends a value by accident.
  document.querySelectorAll("[data-line]").forEach(function (line) {
    var slider = line.querySelector("input[type=range]");
    var number = line.querySelector("input[type=number]");
    var shown = line.querySelector(".value");
    if (!slider || !number) { return; }
    slider.hidden = false;
    function show(value) {
      if (shown) { shown.textContent = value === "" ? "not marked yet" : value; }
      slider.setAttribute("aria-valuetext", value === "" ? "not marked yet" : value + " of " + slider.max);
    }
    if (number.value !== "") { slider.value = number.value; }
    show(number.value);
    slider.addEventListener("input", function () { number.value = slider.value; show(slider.value); });
    number.addEventListener("input", function () {
      if (number.value !== "") { slider.value = number.value; }
      show(number.value);
    });
  });
  // Ask before an action that cannot be undone.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();

// The generation form: a live prompt counter and a preview of the chosen image.
// Listeners sit on the document, so a form swapped in by htmx works without re-binding.
(function () {
  "use strict";

  // String.length counts UTF-16 code units, the way Rivya counts the prompt.
  function updateCounter(textarea) {
    var counter = document.querySelector('[data-counter-for="' + textarea.id + '"]');
    if (!counter) return;
    var limit = parseInt(textarea.getAttribute("data-utf16-limit"), 10);
    var length = textarea.value.trim().length;
    counter.querySelector(".counter-value").textContent = String(length);
    counter.classList.toggle("over", length > limit);
  }

  function showPreview(input) {
    var field = input.closest(".field");
    if (!field) return;
    var figure = field.querySelector(".reference-preview");
    var tooLarge = field.querySelector("[data-reference-too-large]");
    var file = input.files && input.files[0];
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    if (tooLarge) tooLarge.hidden = !(file && file.size > maxBytes);
    if (!figure) return;
    var image = figure.querySelector("img");
    if (image.dataset.objectUrl) {
      URL.revokeObjectURL(image.dataset.objectUrl);
      delete image.dataset.objectUrl;
    }
    var caption = figure.querySelector("figcaption");
    if (!file) {
      figure.hidden = !image.getAttribute("src");
      return;
    }
    var url = URL.createObjectURL(file);
    image.dataset.objectUrl = url;
    image.src = url;
    if (caption) caption.hidden = true;
    figure.hidden = false;
  }

  // Text typed before this script ran, or restored by the browser after Back, counts too.
  function updateAllCounters() {
    document.querySelectorAll("textarea[data-utf16-limit]").forEach(updateCounter);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", updateAllCounters);
  } else {
    updateAllCounters();
  }
  window.addEventListener("pageshow", updateAllCounters);

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLTextAreaElement && target.hasAttribute("data-utf16-limit")) {
      updateCounter(target);
    }
  });

  // Show what the team last paid for the chosen duration and sound, if it has paid for it,
  // and (under a budget) what the choice is expected to cost.
  function showPriceHint(form) {
    var duration = form.querySelector('input[name="duration"]:checked');
    var sound = form.querySelector('input[name="sound"]');
    var wanted = (duration ? duration.value : "5") + "/" + (sound && sound.checked ? "on" : "off");
    form.querySelectorAll(".price-hint, .expected-price").forEach(function (hint) {
      hint.hidden = hint.getAttribute("data-duration") + "/" + hint.getAttribute("data-sound") !== wanted;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    var form = target.closest("#generation-form");
    if (!form) return;
    if (target.type === "file") {
      showPreview(target);
    } else if (target.name === "duration" || target.name === "sound") {
      showPriceHint(form);
    }
  });
})();

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

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLTextAreaElement && target.hasAttribute("data-utf16-limit")) {
      updateCounter(target);
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.type === "file" && target.closest("#generation-form")) {
      showPreview(target);
    }
  });
})();

// The generation form: a live prompt counter, a preview of the chosen image (picked, dropped
// on the form or pasted), and "Use these settings" on a card filling the form in place.
// Listeners sit on the document, so a form swapped in by htmx works without re-binding.
(function () {
  "use strict";

  // String.length counts UTF-16 code units, the way Rivya counts the prompt; the server sends
  // the prompt composed (NFC), so an accent typed as a separate mark counts once here too.
  function updateCounter(textarea) {
    var counter = document.querySelector('[data-counter-for="' + textarea.id + '"]');
    if (!counter) return;
    var limit = parseInt(textarea.getAttribute("data-utf16-limit"), 10);
    var length = textarea.value.trim().normalize("NFC").length;
    counter.querySelector(".counter-value").textContent = String(length);
    counter.classList.toggle("over", length > limit);
  }

  // The first bytes of each image type the server accepts (it still decides).
  function isAcceptedImage(bytes) {
    function startsWith(signature, offset) {
      for (var i = 0; i < signature.length; i++) {
        if (bytes[offset + i] !== signature[i]) return false;
      }
      return true;
    }
    var riff = [0x52, 0x49, 0x46, 0x46];
    var webp = [0x57, 0x45, 0x42, 0x50];
    return (
      startsWith([0xff, 0xd8, 0xff], 0) ||
      startsWith([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0) ||
      (startsWith(riff, 0) && startsWith(webp, 8))
    );
  }

  // A file of the wrong type or size is taken out of the field (nothing else is touched),
  // and the message the page carries for it is shown.
  function checkReference(input) {
    var field = input.closest(".field");
    var file = input.files && input.files[0];
    if (!field) return;
    var tooLarge = field.querySelector("[data-reference-too-large]");
    var badType = field.querySelector("[data-reference-bad-type]");
    if (tooLarge) tooLarge.hidden = true;
    if (badType) badType.hidden = true;
    if (!file) {
      showPreview(input);
      return;
    }
    var refuse = function (message) {
      input.value = "";
      if (message) message.hidden = false;
      showPreview(input);
    };
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    if (file.size > maxBytes) {
      refuse(tooLarge);
      return;
    }
    input.dataset.checking = "true";
    file.slice(0, 12).arrayBuffer().then(
      function (buffer) {
        delete input.dataset.checking;
        if (input.files[0] !== file) return; // another file was chosen meanwhile
        if (isAcceptedImage(new Uint8Array(buffer))) {
          showPreview(input);
        } else {
          refuse(badType);
        }
      },
      function () {
        delete input.dataset.checking;
        if (input.files[0] === file) refuse(badType);
      }
    );
  }

  // The file field's face, in the page's language: shown once the script runs (without it
  // the browser's own field stays), it names the chosen file.
  function enhancePickers(root) {
    root.querySelectorAll(".file-picker:not(.enhanced)").forEach(function (picker) {
      var face = picker.querySelector(".file-picker-face");
      if (!face) return;
      picker.classList.add("enhanced");
      face.hidden = false;
      var input = picker.querySelector('input[type="file"]');
      if (input) showFileName(input);
    });
  }

  function showFileName(input) {
    var name = input.closest(".file-picker") && input.closest(".file-picker").querySelector(".file-picker-name");
    if (!name) return;
    var file = input.files && input.files[0];
    name.textContent = file ? file.name : name.getAttribute("data-empty");
    name.classList.toggle("chosen", !!file);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      enhancePickers(document);
    });
  } else {
    enhancePickers(document);
  }
  // A form swapped in by htmx gets its face too.
  document.addEventListener("htmx:load", function (event) {
    if (event.target instanceof Element) enhancePickers(event.target);
  });

  function showPreview(input) {
    showFileName(input);
    var field = input.closest(".field");
    if (!field) return;
    var figure = field.querySelector(".reference-preview");
    var file = input.files && input.files[0];
    if (!figure) return;
    var image = figure.querySelector("img");
    if (!("keptSrc" in image.dataset)) image.dataset.keptSrc = image.getAttribute("src") || "";
    if (image.dataset.objectUrl) {
      URL.revokeObjectURL(image.dataset.objectUrl);
      delete image.dataset.objectUrl;
    }
    var caption = figure.querySelector("figcaption");
    if (!file) {
      // Back to the image the form keeps, if it keeps one.
      if (image.dataset.keptSrc) {
        image.src = image.dataset.keptSrc;
      } else {
        image.removeAttribute("src");
      }
      if (caption) caption.hidden = false;
      figure.hidden = !image.dataset.keptSrc;
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
      checkReference(target);
    } else if (target.name === "duration" || target.name === "sound") {
      showPriceHint(form);
    }
  });

  // Whether the form may be sent now: not while a request of it is in flight, nor while
  // its image is still being checked.
  function canSend(form) {
    if (form.classList.contains("htmx-request") || form.dataset.sending === "true") return false;
    if (form.querySelector("input[type=file][data-checking]")) return false;
    var button = form.querySelector("button[type=submit]");
    return !(button && button.disabled);
  }

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || form.id !== "generation-form") return;
      if (!canSend(form)) {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      // A plain POST leaves the page; htmx swaps a new form in (or clears the class below).
      if (!form.hasAttribute("hx-post") || !window.htmx) form.dataset.sending = "true";
    },
    true
  );

  // An image dropped on the form or pasted goes into the file field and is checked as if it
  // had been chosen there: anything else is refused with the same message, never sent.
  function takeFile(form, file) {
    var input = form.querySelector('input[type="file"][name="reference_image"]');
    if (!input || !file) return;
    var transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    checkReference(input);
  }

  function carriesFiles(event) {
    var types = event.dataTransfer ? event.dataTransfer.types : null;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function formAround(target) {
    return target instanceof Element ? target.closest("#generation-form") : null;
  }

  document.addEventListener("dragover", function (event) {
    var form = formAround(event.target);
    if (!form || !carriesFiles(event)) return;
    event.preventDefault(); // lets the file be dropped here rather than opened
    event.dataTransfer.dropEffect = "copy";
    form.classList.add("is-drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var form = formAround(event.target);
    var to = event.relatedTarget;
    if (form && !(to instanceof Node && form.contains(to))) form.classList.remove("is-drop-target");
  });

  document.addEventListener("drop", function (event) {
    var form = formAround(event.target);
    if (!form || !carriesFiles(event)) return;
    event.preventDefault();
    form.classList.remove("is-drop-target");
    takeFile(form, event.dataTransfer.files[0]);
  });

  // A paste into the form, or onto the page itself; text is pasted as usual.
  document.addEventListener("paste", function (event) {
    var form = document.getElementById("generation-form");
    var target = event.target;
    if (!form || !event.clipboardData || !event.clipboardData.files.length) return;
    var onPage = target === document.body || target === document.documentElement;
    if (!onPage && !(target instanceof Node && form.contains(target))) return;
    event.preventDefault();
    takeFile(form, event.clipboardData.files[0]);
  });

  // "Use these settings" on a card: the form is filled in place, then the prompt has the
  // focus. Without htmx, or opened in a new tab, the link loads the page with that form.
  document.addEventListener("click", function (event) {
    var target = event.target;
    var link = target instanceof Element ? target.closest("a[data-use-settings]") : null;
    var form = document.getElementById("generation-form");
    if (!link || !form || !window.htmx) return;
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    window.htmx
      .ajax("GET", link.getAttribute("href"), { source: link, target: form, swap: "outerHTML" })
      .then(function () {
        var prompt = document.querySelector("#generation-form textarea[data-utf16-limit]");
        if (!prompt) return;
        prompt.focus();
        prompt.setSelectionRange(prompt.value.length, prompt.value.length);
        updateCounter(prompt);
      });
  });

  // After a submit, the fresh form says the video was sent and links to its card. Where the
  // card's head is out of sight (below the form on a phone), the card is brought into view.
  document.addEventListener("htmx:load", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var link = target.querySelector("a[data-sent-card]");
    if (!link) return;
    setTimeout(function () {
      var card = document.getElementById(link.getAttribute("href").slice(1));
      if (!card) return;
      var box = card.getBoundingClientRect();
      var seen = Math.min(box.height, 160); // the status, the time and the start of the picture
      if (box.top >= 0 && box.top + seen <= window.innerHeight) return;
      var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      card.scrollIntoView({ block: "nearest", behavior: still ? "auto" : "smooth" });
    }, 0);
  });

  // Ctrl+Enter (⌘+Enter on a Mac) anywhere in the form sends it, the way the button does.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
    var target = event.target;
    if (!(target instanceof Element)) return;
    var form = target.closest("#generation-form");
    if (!form) return;
    event.preventDefault();
    if (event.repeat || !canSend(form)) return;
    var button = form.querySelector("button[type=submit]");
    form.requestSubmit(button || undefined);
  });
})();

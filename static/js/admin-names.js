"use strict";
// Names for controls the admin draws without one.
//
// The admin's autocomplete fields are drawn by Select2, whose combobox takes its name only
// from the value shown in it: a field with nothing chosen yet has no name at all for a
// screen reader. Name each one by its field's label, followed by the value shown.
(function () {
  function labelOf(select) {
    const label = select.id ? document.querySelector('label[for="' + CSS.escape(select.id) + '"]') : null;
    if (label) {
      if (!label.id) label.id = select.id + "-label";
      return label.id;
    }
    return null;
  }

  function name(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      const drawn = select.nextElementSibling;
      if (!drawn || !drawn.classList.contains("select2")) return;
      const combobox = drawn.querySelector('[role="combobox"]');
      const shown = drawn.querySelector(".select2-selection__rendered");
      const label = labelOf(select);
      const spoken = select.getAttribute("aria-label");
      if (!combobox || !shown) return;
      if (label) {
        combobox.setAttribute("aria-labelledby", label + " " + shown.id);
        shown.setAttribute("aria-labelledby", label);
      } else if (spoken) {
        combobox.removeAttribute("aria-labelledby");
        combobox.setAttribute("aria-label", spoken);
        shown.setAttribute("aria-label", spoken);
      }
    });
  }

  // After the admin's own script has drawn the fields. It does so in a jQuery ready handler;
  // this deferred script runs after it was registered, so this handler runs after it.
  if (window.django && window.django.jQuery) {
    window.django.jQuery(function () { name(document); });
  }
  // The two-box selector (permissions of a group, say) draws a search icon named with
  // aria-label on a plain span, which has no role to carry a name: call it the image it is.
  window.addEventListener("load", function () {
    document.querySelectorAll(".help-tooltip[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  });
  document.addEventListener("formset:added", function (event) {
    setTimeout(function () { name(event.target); }, 0);
  });
})();

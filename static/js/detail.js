// The detail page's copy buttons: data-copy-text copies its value, data-copy-from the text
// of the element it names. The button says "Copied" for a moment (its data-copied text).
(function () {
  "use strict";

  function textFor(button) {
    if (button.hasAttribute("data-copy-text")) return button.getAttribute("data-copy-text");
    var source = document.querySelector(button.getAttribute("data-copy-from"));
    return source ? source.textContent.trim() : "";
  }

  function confirm(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || label;
    setTimeout(function () { button.textContent = label; }, 1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-text], [data-copy-from]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(textFor(button)).then(function () { confirm(button); });
  });
})();

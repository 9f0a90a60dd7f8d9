// The top bar's menu on phones and tablets: below the desktop width the CSS folds the nav
// (#site-menu) under a "Menu" button, which this file shows and drives. Escape or a click
// elsewhere closes it; Escape gives the focus back to the button. Without this file the
// button stays hidden and the nav is shown in full, wrapped.
(function () {
  "use strict";

  function setUp() {
    var button = document.querySelector(".menu-toggle");
    var menu = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) return;
    var bar = button.closest(".topbar");

    function isOpen() {
      return button.getAttribute("aria-expanded") === "true";
    }

    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      bar.classList.toggle("menu-open", open);
    }

    button.hidden = false;
    bar.classList.add("has-menu");

    button.addEventListener("click", function () {
      setOpen(!isOpen());
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !isOpen()) return;
      setOpen(false);
      button.focus();
    });
    document.addEventListener("click", function (event) {
      if (isOpen() && !bar.contains(event.target)) setOpen(false);
    });
    // Tabbing past the last item closes the menu behind the focus.
    bar.addEventListener("focusout", function (event) {
      if (isOpen() && event.relatedTarget && !bar.contains(event.relatedTarget)) setOpen(false);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();

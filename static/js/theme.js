// The header's theme buttons (templates/teams/_theme_switch.html): send the choice and
// switch the page at once, without reloading it. Without this script the form posts and
// the server sends the browser back to the same page, drawn in the chosen theme.
(function () {
  "use strict";

  function apply(theme) {
    var root = document.documentElement;
    if (theme === "auto") {
      root.removeAttribute("data-theme");
    } else {
      root.setAttribute("data-theme", theme);
    }
    document.querySelectorAll("[data-theme-switch] button[name=theme]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.value === theme));
    });
  }

  // The plain post, with the chosen button's value, when the quick way failed.
  function postPlainly(form, theme) {
    var field = document.createElement("input");
    field.type = "hidden";
    field.name = "theme";
    field.value = theme;
    form.appendChild(field);
    HTMLFormElement.prototype.submit.call(form);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (!form.matches("[data-theme-switch]") || !button || !button.value) {
      return;
    }
    event.preventDefault();
    var data = new FormData(form);
    data.set("theme", button.value);
    fetch(form.action, {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("theme not saved: " + response.status);
        }
        return response.json();
      })
      .then(function (answer) {
        apply(answer.theme);
      })
      .catch(function () {
        postPlainly(form, button.value);
      });
  });
})();

// The console's only script (served from here: the CSP allows no inline script). Without it
// every page still works; it only adds the copy buttons' behaviour.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("copied");
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const value = button.dataset.copy;
      try {
        await navigator.clipboard.writeText(value);
      } catch {
        // No clipboard (plain HTTP off localhost): select the value for Ctrl-C instead.
        const code = button.parentElement.querySelector("code");
        if (code) {
          window.getSelection().selectAllChildren(code);
        }
      }
      if (status) {
        status.textContent = status.dataset.message;
      }
    });
  }
});

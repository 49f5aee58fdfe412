// The submission status page, kept current without reloading it: poll the submission's JSON
// and place the server's sentences. Only the step sentence sits in the polite live region, and it
// is replaced only when it changes, so a screen reader announces each new step once and never
// the ticking clock. When grading ends the page reloads once, to show the result.
"use strict";

(function () {
  const region = document.getElementById("progress");
  if (!region) {
    return;
  }
  const message = document.getElementById("progress-message");
  const timing = document.getElementById("progress-timing");
  const reload = document.getElementById("progress-reload");
  const badge = document.getElementById("status");
  const everyMs = 2000;
  reload.textContent = "This page follows the grading as it goes.";

  async function poll() {
    try {
      const response = await fetch(region.dataset.poll, {
        headers: { Accept: "application/json" }, cache: "no-store", credentials: "omit",
      });
      if (response.ok) {
        const view = await response.json();
        if (view.final) {
          window.location.reload();
          return;
        }
        badge.textContent = view.status;
        badge.className = "status " + view.status;
        if (view.progress) {
          if (message.textContent !== view.progress.message) {
            message.textContent = view.progress.message;
          }
          timing.textContent = view.progress.timing;
        }
      }
    } catch (error) {
      // The server is restarting or the network blinked: the next poll tries again.
    }
    window.setTimeout(poll, everyMs);
  }

  window.setTimeout(poll, everyMs);
})();

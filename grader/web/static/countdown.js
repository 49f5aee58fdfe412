// The invite page's working time, counting down without reloading the page. The server wrote the
// time left when it made the page; this counts from there on the browser's own clock (only the
// difference is used, so a wrong system clock does not matter). The timer has role="timer", which
// screen readers do not announce on every change; the polite status line below it says once each
// when 15 and 5 minutes are left, and when the time is up.
"use strict";

(function () {
  const timer = document.getElementById("countdown");
  if (!timer) {
    return;
  }
  const notice = document.getElementById("countdown-notice");
  const left0 = Number(timer.dataset.secondsLeft);
  const end = Date.now() + left0 * 1000;
  const marks = [15 * 60, 5 * 60].filter((mark) => mark < left0);
  document.getElementById("countdown-reload").hidden = true;

  function span(seconds) {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    return (hours ? hours + " h " : "") + minutes + " min";
  }

  function tick() {
    const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    if (left === 0) {
      timer.textContent = "no time";
      notice.textContent = "Your working time has ended: uploads are closed.";
      return;
    }
    timer.textContent = span(left) + " left";
    if (marks.length && left <= marks[0]) {
      notice.textContent = span(marks.shift()) + " of working time left.";
    }
    window.setTimeout(tick, 1000);
  }

  tick();
})();

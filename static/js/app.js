// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Copy buttons: <button class="copy" data-copy="text">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    // Links copied out of the page (an incident note) get the page's own origin.
    var origin = button.getAttribute("data-copy-origin");
    if (origin) text = text.split(origin).join(window.location.origin);
    var done = function () {
      var label = button.textContent;
      button.textContent = "copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* nothing to do */ }
      area.remove();
    }
  });

  // Run list: "Compare selected" (form[data-compare-pick]) is enabled when exactly two
  // rows are ticked. Without this the form still submits and the server says what is wrong.
  function pickStatus(ticked) {
    if (ticked === 2) return "2 runs ticked: compare them side by side.";
    if (ticked === 1) return "1 run ticked: tick one more.";
    if (ticked === 0) return "Tick two runs, then compare them side by side.";
    return ticked + " runs ticked: untick " + (ticked - 2) + " to compare two.";
  }
  function updatePick(form) {
    var ticked = 0;
    Array.prototype.forEach.call(form.elements, function (box) {
      if (box.name === "run" && box.checked) ticked += 1;
    });
    var button = form.querySelector("button[type=submit]");
    var status = form.querySelector(".compare-pick-status");
    if (button) button.disabled = ticked !== 2;
    if (status) status.textContent = pickStatus(ticked);
  }
  function updatePicks() {
    document.querySelectorAll("form[data-compare-pick]").forEach(updatePick);
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box && box.name === "run" && box.form && box.form.hasAttribute("data-compare-pick")) updatePick(box.form);
  });
  // On load, after an htmx swap of the table, and when Back restores ticked boxes.
  document.addEventListener("DOMContentLoaded", updatePicks);
  document.addEventListener("htmx:afterSettle", updatePicks);
  window.addEventListener("pageshow", updatePicks);

  // A box that scrolls (a wide table on a phone, a long JSON block) can be reached and scrolled with the
  // keyboard: it takes the focus when it overflows (WCAG 2.1.1).
  function focusableScrollers() {
    document.querySelectorAll("main table, main pre").forEach(function (box) {
      var overflows = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
      if (overflows && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-focus", "");
      } else if (!overflows && box.hasAttribute("data-scroll-focus")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-focus");
      }
    });
  }
  var resizing = null;
  document.addEventListener("DOMContentLoaded", focusableScrollers);
  document.addEventListener("htmx:afterSettle", focusableScrollers);
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(focusableScrollers, 150);
  });
})();

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
  // Exact times (on hover, and the events' timestamps) in UTC, as the pages are rendered, or in this browser's
  // time zone: a toggle in the top bar, remembered in this browser.
  var ZONE_KEY = "controlplane.timeZone";
  function wantsLocal() {
    try { return window.localStorage.getItem(ZONE_KEY) === "local"; } catch (e) { return false; }
  }
  function localText(iso) {
    var moment = new Date(iso);
    if (!iso || isNaN(moment.getTime())) return null;
    return moment.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short" });
  }
  function applyZone() {
    var local = wantsLocal();
    document.querySelectorAll("time[datetime]").forEach(function (time) {
      if (!time.hasAttribute("data-utc-title")) time.setAttribute("data-utc-title", time.getAttribute("title") || "");
      var shown = local ? localText(time.getAttribute("datetime")) : null;
      time.setAttribute("title", shown || time.getAttribute("data-utc-title"));
    });
    document.querySelectorAll(".abs.mono").forEach(function (stamp) {
      if (!stamp.hasAttribute("data-utc")) stamp.setAttribute("data-utc", stamp.textContent);
      var shown = local ? localText(stamp.getAttribute("data-utc")) : null;
      stamp.textContent = shown || stamp.getAttribute("data-utc");
    });
    var toggle = document.querySelector("[data-zone-toggle]");
    if (toggle) {
      toggle.textContent = local ? "Times: local" : "Times: UTC";
      toggle.setAttribute("aria-pressed", local ? "true" : "false");
    }
  }
  function addZoneToggle() {
    var bar = document.querySelector(".topbar-right");
    if (bar && !bar.querySelector("[data-zone-toggle]")) {
      var toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "linklike zone-toggle";
      toggle.setAttribute("data-zone-toggle", "");
      toggle.title = "Show exact times in UTC or in this browser's time zone";
      bar.insertBefore(toggle, bar.firstChild);
    }
    applyZone();
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-zone-toggle]")) return;
    try { window.localStorage.setItem(ZONE_KEY, wantsLocal() ? "utc" : "local"); } catch (e) { return; }
    applyZone();
  });
  document.addEventListener("DOMContentLoaded", addZoneToggle);
  document.addEventListener("htmx:afterSettle", applyZone);

  var resizing = null;
  document.addEventListener("DOMContentLoaded", focusableScrollers);
  document.addEventListener("htmx:afterSettle", focusableScrollers);
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(focusableScrollers, 150);
  });
})();

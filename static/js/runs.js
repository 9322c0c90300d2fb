// Run pages: pause polling in hidden tabs, "/" focuses the search box, expand/collapse the tree.
// Everything here is optional; the pages work without JavaScript.
(function () {
  "use strict";

  // Polling regions (data-poll) skip their request while the tab is hidden and
  // refresh at once when it becomes visible again (CSP forbids hx-trigger filters).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (document.hidden && elt && elt.hasAttribute && elt.hasAttribute("data-poll")) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) return;
    document.querySelectorAll("[data-poll]").forEach(function (elt) {
      window.htmx.trigger(elt, "poll-now");
    });
  });

  // Filter forms (data-drop-empty) leave empty fields out of the URL they push, so a
  // shared link reads `/runs/?status=failed` rather than a row of empty parameters.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    var data = event.detail && event.detail.formData;
    if (!data || !elt || !elt.hasAttribute || !elt.hasAttribute("data-drop-empty")) return;
    Array.from(new Set(Array.from(data.keys()))).forEach(function (key) {
      var kept = data.getAll(key).filter(function (value) { return value !== ""; });
      data.delete(key);
      kept.forEach(function (value) { data.append(key, value); });
    });
  });

  // Back and Forward load the page again from the server (htmx keeps no snapshots: historyCacheSize 0 in
  // _base.html, which also keeps run content out of localStorage), so each filter form is rendered from its
  // URL. Undo the browser's own restoring of typed and ticked fields, which would disagree with that URL.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-drop-empty]").forEach(function (form) { form.reset(); });
  });

  // "/" focuses the search box unless the user is already typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    var box = document.querySelector("[data-search-shortcut]");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  // Controls that only work with JavaScript stay hidden without it.
  document.querySelectorAll("[data-js-only]").forEach(function (elt) { elt.hidden = false; });

  // Tree page: expand or collapse every <details>.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-tree-toggle]");
    if (!button) return;
    var open = button.getAttribute("data-tree-toggle") === "open";
    document.querySelectorAll("#run-tree details").forEach(function (details) {
      details.open = open;
    });
  });
})();

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

  // While a swap is in flight its region is marked busy (the stylesheet dims it; screen readers hear it)
  // and the control that asked for it shows progress. Polls refresh quietly.
  function loadingControl(elt) {
    if (elt.tagName === "FORM") return elt.querySelector("button[type=submit], button:not([type])") || elt;
    return elt;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var detail = event.detail || {};
    if (event.defaultPrevented || !detail.elt || detail.elt.hasAttribute("data-poll")) return;
    if (detail.target) detail.target.setAttribute("aria-busy", "true");
    loadingControl(detail.elt).classList.add("is-loading");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail || {};
    if (detail.target) detail.target.removeAttribute("aria-busy");
    if (detail.elt) loadingControl(detail.elt).classList.remove("is-loading");
  });

  // A tab that has just loaded takes the focus, so the keyboard carries on inside it (the link that asked
  // for it was replaced with the region).
  document.addEventListener("htmx:afterSettle", function (event) {
    var region = event.detail && event.detail.elt;
    var requested = event.detail && event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!region || !requested || !requested.closest || !requested.closest("nav.tabs")) return;
    var body = document.querySelector("#detail-tab .tab-body");
    if (!body) return;
    body.setAttribute("tabindex", "-1");
    body.focus({ preventScroll: true });
  });

  // Filter forms (data-drop-empty) leave empty fields out of the URL they push, so a
  // shared link reads `/runs/?status=failed` rather than a row of empty parameters.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    var data = event.detail && event.detail.formData;
    if (!data || !elt || !elt.hasAttribute || !elt.hasAttribute("data-drop-empty")) return;
    // Enter or Apply, not a key typed or a box ticked: a search for the start of one run's id opens it.
    var cause = event.detail.triggeringEvent;
    if (cause && cause.type === "submit" && event.detail.headers) event.detail.headers["X-Search-Submit"] = "1";
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
    var box = document.querySelector("[data-search-shortcut]") || document.querySelector("main input[type=search]");
    event.preventDefault();
    if (!box) {
      // A page without a search box: the run list's (of this store), focused on arrival.
      var list = Array.prototype.find.call(document.querySelectorAll("nav.mainnav a"), function (link) {
        return /\/runs\/$/.test(link.pathname);
      });
      if (list) window.location.assign(list.pathname + "#search");
      return;
    }
    box.focus();
    box.select();
  });
  if (window.location.hash === "#search") {
    var box = document.querySelector("[data-search-shortcut]");
    if (box) box.focus();
  }

  // A hand-typed `#step-N` / `#event-N` past the tab's first page: ask the server for the page that holds it
  // (the links the pages make carry `?step=N` themselves).
  var deep = /^#(step|event)-(\d+)$/.exec(window.location.hash);
  if (deep && !document.getElementById(deep[1] + "-" + deep[2])) {
    var tab = Array.prototype.find.call(document.querySelectorAll("nav.tabs a"), function (link) {
      return new RegExp("/" + deep[1] + "s/$").test(link.pathname);
    });
    if (tab) window.location.replace(tab.pathname + "?" + deep[1] + "=" + deep[2] + window.location.hash);
  }

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

/* Lineage graph: scroll to the current run, zoom buttons, drag to pan.
   The graph works without this file (it scrolls natively inside its box); graphs loaded later by htmx are
   set up on htmx:load. Loaded by the lineage partial and the tree page, and safe to load twice. */
(function () {
  "use strict";
  if (window.lineageGraph) {
    window.lineageGraph.setUpAll(document);
    return;
  }
  var STEP = 1.25, MIN_ZOOM = 0.1, MAX_ZOOM = 4, DRAG_START_PX = 4;

  function centreOn(box, element) {
    var boxRect = box.getBoundingClientRect(), rect = element.getBoundingClientRect();
    box.scrollLeft += rect.left + rect.width / 2 - (boxRect.left + box.clientWidth / 2);
    box.scrollTop += rect.top + rect.height / 2 - (boxRect.top + box.clientHeight / 2);
  }

  function setUp(panel) {
    var box = panel.querySelector(".lineage-scroll");
    var svg = box && box.querySelector("svg.lineage-svg");
    if (!svg || panel.hasAttribute("data-lineage-ready")) return;
    panel.setAttribute("data-lineage-ready", "");
    var width = parseFloat(svg.getAttribute("width")) || svg.getBoundingClientRect().width;
    var height = parseFloat(svg.getAttribute("height")) || svg.getBoundingClientRect().height;
    var zoom = 1;
    var tools = panel.querySelector("[data-lineage-tools]");
    var level = panel.querySelector("[data-zoom-level]");
    var current = svg.querySelector(".lin-node.current");

    function zoomTo(next) {
      next = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, next));
      // Keep the point at the middle of the box where it is.
      var middleX = (box.scrollLeft + box.clientWidth / 2) / zoom;
      var middleY = (box.scrollTop + box.clientHeight / 2) / zoom;
      zoom = next;
      svg.setAttribute("width", (width * zoom).toFixed(1));
      svg.setAttribute("height", (height * zoom).toFixed(1));
      box.scrollLeft = middleX * zoom - box.clientWidth / 2;
      box.scrollTop = middleY * zoom - box.clientHeight / 2;
      if (level) level.textContent = Math.round(zoom * 100) + "%";
    }

    if (tools) {
      tools.hidden = false;
      tools.addEventListener("click", function (event) {
        var button = event.target.closest("button[data-zoom]");
        if (!button) return;
        var action = button.getAttribute("data-zoom");
        if (action === "in") zoomTo(zoom * STEP);
        else if (action === "out") zoomTo(zoom / STEP);
        else if (action === "reset") zoomTo(1);
        else if (action === "fit") zoomTo(Math.min(box.clientWidth / width, box.clientHeight / height, 1));
        if (action === "current" && current) centreOn(box, current);
      });
    }

    // Drag to pan; a drag that ends on a node does not follow its link.
    var drag = null, suppressClick = false;
    box.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 || event.pointerType === "touch") return;  // touch scrolls natively
      drag = {x: event.clientX, y: event.clientY, left: box.scrollLeft, top: box.scrollTop, moved: false};
    });
    window.addEventListener("pointermove", function (event) {
      if (!drag) return;
      var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < DRAG_START_PX) return;
      if (!drag.moved) {
        drag.moved = true;
        box.classList.add("dragging");
      }
      box.scrollLeft = drag.left - dx;
      box.scrollTop = drag.top - dy;
      event.preventDefault();
    });
    window.addEventListener("pointerup", function () {
      if (drag && drag.moved) {
        suppressClick = true;
        box.classList.remove("dragging");
        setTimeout(function () { suppressClick = false; }, 0);
      }
      drag = null;
    });
    box.addEventListener("click", function (event) {
      if (suppressClick) {
        event.preventDefault();
        event.stopPropagation();
      }
    }, true);
    box.addEventListener("dragstart", function (event) { event.preventDefault(); });

    if (current) centreOn(box, current);
  }

  function setUpAll(root) {
    if (root.matches && root.matches(".lineage")) setUp(root);
    if (root.querySelectorAll) root.querySelectorAll(".lineage").forEach(setUp);
  }

  window.lineageGraph = {setUpAll: setUpAll};
  document.addEventListener("htmx:load", function (event) { setUpAll(event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  } else {
    setUpAll(document);
  }
})();

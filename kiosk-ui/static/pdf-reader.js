/* PDF reader over the vendored pdf.js (legacy build): one page at a time fitted to the phone's
   width (again when the phone turns), previous/next, page number, zoom; the page remembered on
   this phone. The "download instead" hint is hidden while the pages draw, and shown again only
   if they cannot be drawn. Without JavaScript (or if pdf.js cannot start) the hint stays. */
(function () {
  "use strict";
  var view = document.getElementById("pdf");
  var lib = window.pdfjsLib;
  if (!view || !lib) { return; }
  lib.GlobalWorkerOptions.workerSrc = view.getAttribute("data-worker");
  var canvas = view.querySelector("canvas");
  var input = view.querySelector("input");
  var total = view.querySelector(".pages");
  var sheet = view.querySelector(".sheet");
  var key = "rp:pdf:" + view.getAttribute("data-book");
  var zooms = [1, 1.5, 2, 3];
  var zoom = 0;
  var doc = null;
  var page = 1;
  var busy = false;
  var wanted = null;
  var note = document.querySelector(".fallback");
  var drawnWidth = 0;

  function load(name) { try { return window.localStorage.getItem(name); } catch (e) { return null; } }
  function save(name, value) { try { window.localStorage.setItem(name, value); } catch (e) { /* ignore */ } }

  function fail() {
    view.hidden = true;
    if (note) {
      note.insertAdjacentText("afterbegin", view.getAttribute("data-error") + " ");
      note.hidden = false;
    }
  }

  function fitWidth() {
    /* the width a page is drawn at: the sheet's, which the stylesheet keeps within the screen */
    return Math.min(sheet.clientWidth || 320, document.documentElement.clientWidth || 320);
  }

  function draw(number) {
    if (busy) { wanted = number; return; }
    busy = true;
    page = number;
    input.value = number;
    save(key, String(number));
    doc.getPage(number).then(function (pdfPage) {
      var ratio = Math.min(window.devicePixelRatio || 1, 2);
      drawnWidth = fitWidth();
      var width = drawnWidth * zooms[zoom];
      var scale = width / pdfPage.getViewport({ scale: 1 }).width;
      var viewport = pdfPage.getViewport({ scale: scale * ratio });
      canvas.width = Math.floor(viewport.width);
      canvas.height = Math.floor(viewport.height);
      canvas.style.width = Math.floor(viewport.width / ratio) + "px";
      canvas.style.height = Math.floor(viewport.height / ratio) + "px";
      return pdfPage.render({ canvasContext: canvas.getContext("2d"), viewport: viewport }).promise;
    }).then(function () {
      busy = false;
      view.setAttribute("data-rendered", String(page));
      if (wanted !== null) { var next = wanted; wanted = null; draw(next); }
    }, function () { busy = false; fail(); });
  }

  function go(number) {
    if (!doc) { return; }
    draw(Math.max(1, Math.min(doc.numPages, number)));
  }

  view.addEventListener("click", function (event) {
    var target = event.target;
    var step = target.getAttribute && target.getAttribute("data-go");
    var scale = target.getAttribute && target.getAttribute("data-zoom");
    if (step) { go(page + parseInt(step, 10)); window.scrollTo(0, view.offsetTop); }
    if (scale) {
      zoom = Math.max(0, Math.min(zooms.length - 1, zoom + parseInt(scale, 10)));
      go(page);
    }
  });
  input.addEventListener("change", function () { go(parseInt(input.value, 10) || 1); });
  document.addEventListener("keydown", function (event) {
    if (event.target === input) { return; }
    if (event.key === "ArrowLeft") { go(page - 1); }
    if (event.key === "ArrowRight") { go(page + 1); }
  });

  window.addEventListener("resize", function () {
    if (doc && Math.abs(fitWidth() - drawnWidth) > 1) { go(page); }
  });

  if (note) { note.hidden = true; }
  view.hidden = false;
  lib.getDocument({
    url: view.getAttribute("data-src"),
    isEvalSupported: false,
    disableAutoFetch: true,
    rangeChunkSize: 65536
  }).promise.then(function (pdf) {
    doc = pdf;
    total.textContent = pdf.numPages;
    input.max = pdf.numPages;
    var saved = parseInt(load(key), 10);
    go(saved >= 1 && saved <= pdf.numPages ? saved : 1);
  }, fail);
})();

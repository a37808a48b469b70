/* EPUB reader: remembers the scroll position per chapter on this phone, changes font size and
   night mode without a reload, turns pages with the arrow keys. Works without it, too. */
(function () {
  "use strict";
  var text = document.getElementById("text");
  if (!text) { return; }
  var key = "rp:read:" + text.getAttribute("data-book") + ":" + text.getAttribute("data-chapter") +
    ":" + text.getAttribute("data-part");

  function load(name) { try { return window.localStorage.getItem(name); } catch (e) { return null; } }
  function save(name, value) { try { window.localStorage.setItem(name, value); } catch (e) { /* full or private */ } }
  function height() { return document.documentElement.scrollHeight || 1; }

  if (!window.location.hash) {
    var saved = parseFloat(load(key));
    if (saved > 0 && saved < 1) { window.scrollTo(0, saved * height()); }
  }
  var timer = null;
  window.addEventListener("scroll", function () {
    if (timer) { return; }
    timer = window.setTimeout(function () {
      timer = null;
      save(key, (window.pageYOffset / height()).toFixed(4));
    }, 400);
  });

  function setLink(link, name, value) {
    link.setAttribute("data-value", value);
    link.href = link.href.replace(new RegExp("([?&]" + name + "=)[^&]*"), "$1" + value);
  }

  function apply(name, value) {
    var links = document.querySelectorAll("a[data-pref='" + name + "']");
    var i;
    if (name === "fs") {
      var step = parseInt(value, 10);
      text.className = text.className.replace(/\bfs-\d\b/, "fs-" + step);
      for (i = 0; i < links.length; i++) {
        var bigger = links[i].textContent.indexOf("+") >= 0;
        var next = bigger ? step + 1 : step - 1;
        links[i].hidden = next < 1 || next > 5;
        setLink(links[i], "fs", Math.max(1, Math.min(5, next)));
      }
    } else {
      var night = value === "night";
      document.documentElement.className = night ? "night" : "";
      for (i = 0; i < links.length; i++) {
        links[i].textContent = night ? "\u2600" : "\u263e";
        setLink(links[i], "theme", night ? "day" : "night");
      }
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target;
    while (link && link !== document && !(link.getAttribute && link.getAttribute("data-pref"))) {
      link = link.parentNode;
    }
    if (!link || link === document || !window.XMLHttpRequest) { return; }
    event.preventDefault();
    var name = link.getAttribute("data-pref");
    var value = link.getAttribute("data-value");
    var request = new XMLHttpRequest();
    request.open("GET", text.getAttribute("data-prefs") + "?js=1&" + name + "=" + encodeURIComponent(value));
    request.send();
    apply(name, value);
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || /input|select|textarea/i.test(event.target.tagName)) {
      return;
    }
    var rel = event.key === "ArrowLeft" ? "prev" : event.key === "ArrowRight" ? "next" : null;
    var link = rel && document.querySelector("a[rel='" + rel + "']");
    if (link) { window.location.href = link.href; }
  });
})();

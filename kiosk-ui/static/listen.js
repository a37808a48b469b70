/* Audiobook player: plays on from chapter to chapter, playback speed, skip buttons, the position
   remembered on this phone (localStorage), lock-screen controls (Media Session). The page works
   without it: every chapter is a link and the <audio> element has its own controls. */
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) { return; }
  var audio = player.querySelector("audio");
  var items = player.querySelectorAll(".tracks li");
  var now = player.querySelector(".now strong");
  var where = player.querySelector(".now .pos");
  var previousLink = player.querySelector("a[rel=prev]");
  var nextLink = player.querySelector("a[rel=next]");
  var book = player.getAttribute("data-book");
  var key = "rp:listen:" + book;
  var chapters = [];
  var current = 0;
  var i;

  function load(name) { try { return window.localStorage.getItem(name); } catch (e) { return null; } }
  function save(name, value) { try { window.localStorage.setItem(name, value); } catch (e) { /* ignore */ } }
  function absolute(url) { var a = document.createElement("a"); a.href = url; return a.href; }

  for (i = 0; i < items.length; i++) {
    chapters.push({
      src: absolute(items[i].getAttribute("data-src")),
      start: parseFloat(items[i].getAttribute("data-start")) || 0,
      title: items[i].textContent.replace(/\s+\d+:\d\d(:\d\d)?\s*$/, "").trim(),
      item: items[i]
    });
    if (items[i].className.indexOf("current") >= 0) { current = i; }
  }

  function fileOf(src) { return src.split("#")[0]; }

  function mark(index) {
    if (chapters[current]) {
      chapters[current].item.className = "";
      chapters[current].item.firstChild.removeAttribute("aria-current");
    }
    current = index;
    chapters[index].item.className = "current";
    chapters[index].item.firstChild.setAttribute("aria-current", "true");
    if (now) { now.textContent = chapters[index].title; }
    if (where) { where.textContent = chapters[index].item.getAttribute("data-pos"); }
    turn(previousLink, index - 1);
    turn(nextLink, index + 1);
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", "?chapter=" + (index + 1));
    }
    session(index);
  }

  function turn(link, index) {
    if (!link) { return; }
    link.hidden = index < 0 || index >= chapters.length;
    if (!link.hidden) { link.href = link.href.replace(/([?&]chapter=)\d+/, "$1" + (index + 1)); }
  }

  function remember() {
    save(key, JSON.stringify({ chapter: current, time: audio.currentTime }));
  }

  function play(index, time) {
    var chapter = chapters[index];
    if (!chapter) { return; }
    var at = typeof time === "number" ? time : chapter.start;
    mark(index);
    if (fileOf(audio.src) !== chapter.src) {
      audio.src = chapter.src;
      audio.addEventListener("loadedmetadata", function seek() {
        audio.removeEventListener("loadedmetadata", seek);
        audio.currentTime = at;
      });
    } else {
      audio.currentTime = at;
    }
    audio.playbackRate = rate();
    var started = audio.play();
    if (started && started["catch"]) { started["catch"](function () { /* needs a tap first */ }); }
    remember();
  }

  function chapterAt(time) {
    var src = fileOf(audio.src);
    var found = current;
    for (var j = 0; j < chapters.length; j++) {
      if (chapters[j].src === src && chapters[j].start <= time + 0.25) { found = j; }
    }
    return found;
  }

  var last = 0;
  audio.addEventListener("timeupdate", function () {
    var index = chapterAt(audio.currentTime);
    if (index !== current) { mark(index); }
    if (Math.abs(audio.currentTime - last) > 5) { last = audio.currentTime; remember(); }
  });
  audio.addEventListener("pause", remember);
  audio.addEventListener("ended", function () {
    for (var j = current + 1; j < chapters.length; j++) {
      if (chapters[j].src !== fileOf(audio.src)) { play(j); return; }
    }
  });

  /* speed and skipping */
  var speed = player.querySelector(".speed");
  var select = speed.querySelector("select");
  function rate() { return parseFloat(select.value) || 1; }
  var savedRate = load("rp:speed");
  if (savedRate) { select.value = savedRate; }
  audio.defaultPlaybackRate = rate();
  audio.playbackRate = rate();
  speed.hidden = false;
  select.addEventListener("change", function () {
    audio.defaultPlaybackRate = rate();
    audio.playbackRate = rate();
    save("rp:speed", select.value);
  });
  function skip(seconds) { audio.currentTime = Math.max(0, audio.currentTime + seconds); }
  speed.addEventListener("click", function (event) {
    var by = event.target.getAttribute && event.target.getAttribute("data-skip");
    if (by) { skip(parseFloat(by)); }
  });

  /* chapter links and previous/next play here instead of loading a page */
  player.addEventListener("click", function (event) {
    var link = event.target;
    while (link && link !== player && link.tagName !== "A") { link = link.parentNode; }
    if (!link || link === player) { return; }
    var match = /[?&]chapter=(\d+)/.exec(link.getAttribute("href") || "");
    if (!match) { return; }
    event.preventDefault();
    play(parseInt(match[1], 10) - 1);
  });

  /* resume where this phone stopped, if it is in the chapter the page opened */
  var saved = null;
  try { saved = JSON.parse(load(key)); } catch (e) { saved = null; }
  if (saved && saved.chapter === current && saved.time > 0) {
    audio.addEventListener("loadedmetadata", function resume() {
      audio.removeEventListener("loadedmetadata", resume);
      if (saved.time < (audio.duration || Infinity)) { audio.currentTime = saved.time; }
    });
    if (audio.readyState >= 1) { audio.currentTime = saved.time; }
  }

  /* lock-screen and headset controls */
  function session(index) {
    if (!("mediaSession" in navigator) || !window.MediaMetadata) { return; }
    var art = player.getAttribute("data-artwork");
    navigator.mediaSession.metadata = new window.MediaMetadata({
      title: chapters[index].title,
      artist: player.getAttribute("data-artist") || "",
      album: player.getAttribute("data-title") || "",
      artwork: art ? [{ src: absolute(art), sizes: "160x240", type: "image/jpeg" }] : []
    });
  }
  if ("mediaSession" in navigator) {
    var actions = {
      play: function () { audio.play(); },
      pause: function () { audio.pause(); },
      previoustrack: function () { play(Math.max(0, current - 1)); },
      nexttrack: function () { if (current + 1 < chapters.length) { play(current + 1); } },
      seekbackward: function () { skip(-15); },
      seekforward: function () { skip(30); }
    };
    for (var name in actions) {
      try { navigator.mediaSession.setActionHandler(name, actions[name]); } catch (e) { /* unsupported */ }
    }
    session(current);
  }
})();

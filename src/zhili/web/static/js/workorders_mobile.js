// Field workers' work orders (/m/workorders): start on site, take photos, mark done.
// Acts through the JSON API (photos to /api/v1/files, then the order's action with the browser's
// position); words come translated from the page's #wo-config, so this file holds no language.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("wo-config").textContent);
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var msg = document.getElementById("wo-msg");

  function say(text, isError) {
    msg.hidden = false;
    msg.textContent = text;
    msg.className = "wo-msg" + (isError ? " error" : "");
    msg.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  function position() {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) { reject(new Error(cfg.no_location)); return; }
      navigator.geolocation.getCurrentPosition(
        function (p) { resolve({ lon: p.coords.longitude, lat: p.coords.latitude }); },
        function () { reject(new Error(cfg.no_location)); },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 }
      );
    });
  }

  function problem(resp) {
    return resp.json().then(function (body) {
      throw new Error(cfg.failed + " " + (body.detail || resp.status));
    }, function () { throw new Error(cfg.failed + " " + resp.status); });
  }

  function upload(file) {
    var data = new FormData();
    data.append("file", file);
    return fetch("/api/v1/files", {
      method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRF-Token": csrf }
    }).then(function (r) { return r.ok ? r.json() : problem(r); }).then(function (b) { return b.sha256; });
  }

  function act(card, action, extra) {
    var body = Object.assign({ version: Number(card.dataset.version), crs: "wgs84" }, extra);
    return fetch("/api/v1/work-orders/" + card.dataset.order + "/actions/" + action, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }
    }).then(function (r) { return r.ok ? r.json() : problem(r); });
  }

  function busy(button, on) { button.disabled = on; }

  document.querySelectorAll(".wo-card").forEach(function (card) {
    var start = card.querySelector(".wo-start");
    var done = card.querySelector(".wo-done");
    var files = card.querySelector(".wo-files");
    var count = card.querySelector(".wo-count");
    if (start) {
      start.addEventListener("click", function () {
        busy(start, true);
        say(cfg.locating);
        position().then(function (pos) { say(cfg.saving); return act(card, "start", pos); })
          .then(function () { say(cfg.started); window.location.reload(); })
          .catch(function (e) { say(e.message, true); busy(start, false); });
      });
    }
    if (files && count) {
      files.addEventListener("change", function () {
        count.textContent = cfg.photos_ready.replace("{n}", String(files.files.length));
      });
    }
    if (done && files) {
      done.addEventListener("click", function () {
        var need = Number(card.dataset.minPhotos || 0);
        if (files.files.length < need) { say(cfg.too_few, true); return; }
        busy(done, true);
        say(cfg.locating);
        position().then(function (pos) {
          say(cfg.uploading);
          return Promise.all(Array.prototype.map.call(files.files, upload)).then(function (shas) {
            say(cfg.saving);
            return act(card, "complete", Object.assign({ evidence: shas }, pos));
          });
        }).then(function () { say(cfg.done); window.location.reload(); })
          .catch(function (e) { say(e.message, true); busy(done, false); });
      });
    }
  });
})();

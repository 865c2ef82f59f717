/* Progressive enhancement for the back office; every page works without it.
   - On a phone the menu folds behind one button, so the door's search field is on the first screen.
   - Where the browser can read QR codes (BarcodeDetector), the check-in pages offer the camera: a
     scanned code opens its check-in address, the same page a typed search or a phone camera app opens. */
(function () {
  "use strict";

  function foldMenu() {
    var nav = document.querySelector(".admin-nav");
    if (!nav || !window.matchMedia("(max-width: 40rem)").matches) return;
    var list = nav.querySelector("ul");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "menu-button secondary";
    button.textContent = nav.getAttribute("data-menu-label") || "Menu";
    button.setAttribute("aria-expanded", "false");
    list.id = list.id || "admin-menu";
    button.setAttribute("aria-controls", list.id);
    list.hidden = true;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", open ? "false" : "true");
      list.hidden = open;
    });
    nav.insertBefore(button, list);
  }

  function scanner(holder) {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    var prefix = window.location.origin + "/admin/checkin/";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = holder.getAttribute("data-label") || "Scan QR code";
    var video = document.createElement("video");
    video.setAttribute("playsinline", "");
    video.setAttribute("aria-hidden", "true");
    video.hidden = true;
    var status = document.createElement("span");
    status.setAttribute("role", "status");
    holder.append(button, status, video);
    holder.hidden = false;
    var stream = null;

    function stop() {
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.hidden = true;
      button.textContent = holder.getAttribute("data-label") || "Scan QR code";
    }

    button.addEventListener("click", function () {
      if (stream) { stop(); return; }
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        button.textContent = holder.getAttribute("data-stop") || "Stop";
        video.play();
        (function look() {
          if (!stream) return;
          detector.detect(video).then(function (codes) {
            var found = codes.map(function (c) { return c.rawValue; }).filter(function (v) {
              return v.indexOf(prefix) === 0 || v.indexOf("/admin/checkin/") === 0;
            })[0];
            if (found) { stop(); window.location.assign(found); } else { window.setTimeout(look, 250); }
          }, function () { window.setTimeout(look, 500); });
        })();
      }, function () {
        status.textContent = holder.getAttribute("data-error") || "";
      });
    });
  }

  foldMenu();
  Array.prototype.forEach.call(document.querySelectorAll("[data-scanner]"), scanner);
})();

// Exports page: while the server builds a bundle, say so and count the seconds; then save the
// zip under its own name and show its SHA-256. Without JavaScript the form posts as usual and
// the browser saves the download itself.
(function () {
  "use strict";
  var form = document.getElementById("export-form");
  var status = document.getElementById("export-status");
  if (!form || !status || !window.fetch || !window.URL || !window.Blob) return;
  var busy = false;
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) return;
    busy = true;
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    var started = Date.now();
    var tick = function () {
      status.textContent = "Building the bundle… " + Math.round((Date.now() - started) / 1000) + " s";
    };
    tick();
    var timer = setInterval(tick, 1000);
    var done = function (text) {
      clearInterval(timer);
      status.textContent = text;
      button.disabled = false;
      busy = false;
    };
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (resp) {
        if (!resp.ok) {
          return resp.text().then(function (html) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var msg = doc.querySelector(".error, main p");
            done("Not made (" + resp.status + "): " + (msg ? msg.textContent.trim() : resp.statusText));
          });
        }
        var name = "bundle.zip";
        var m = /filename="?([^";]+)"?/.exec(resp.headers.get("Content-Disposition") || "");
        if (m) name = m[1];
        var digest = resp.headers.get("X-Bundle-SHA256") || "";
        status.textContent = "Downloading " + name + "…";
        return resp.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = document.createElement("a");
          a.href = url;
          a.download = name;
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
          done("Saved " + name + " (" + Math.round(blob.size / 1024) + " KB, " +
               Math.round((Date.now() - started) / 1000) + " s). SHA-256: " + digest);
        });
      })
      .catch(function () { done("Not made: the connection failed. Try again."); });
  });
})();

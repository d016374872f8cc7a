// The inbox's answer form: seal her answer in this browser (to the case keys, the recovery key
// and her own reply key) and post the envelope only. Without JavaScript, or without the key
// list, the plain form posts and the server seals it. Never falls back to sending plaintext.
(function () {
  "use strict";
  var form = document.getElementById("reply-form");
  var list = document.getElementById("inbox-keys");
  var E = window.ReporterEnvelope;
  if (!form || !list || !E || !window.nacl || !window.crypto || !window.crypto.getRandomValues) return;
  var recipients;
  try {
    recipients = JSON.parse(list.textContent).recipients.map(function (k) { return E.b64decode(k, 32); });
  } catch (e) { return; }
  if (!recipients.length) return;
  var msg = (document.getElementById("inbox-messages") || { dataset: {} }).dataset;
  var box = form.elements.message;
  var button = form.querySelector("button[type=submit]");
  var status = document.createElement("p");
  status.id = "reply-status";
  status.setAttribute("aria-live", "polite");
  button.parentNode.parentNode.insertBefore(status, button.parentNode);
  var busy = false;

  function say(text, isError) {
    status.textContent = text || "";
    status.className = isError ? "error" : "notice";
    status.setAttribute("role", isError ? "alert" : "status");
    if (isError) { box.setAttribute("aria-invalid", "true"); box.setAttribute("aria-describedby", status.id); }
    else { box.removeAttribute("aria-invalid"); }
  }
  function fail(text) { busy = false; button.disabled = false; say(text, true); box.focus(); }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) return;
    var text = box.value;
    if (!text.trim()) { fail(msg.empty); return; }
    var env;
    try {
      env = E.seal({ v: 1, from: "reporter", text: text }, recipients);
    } catch (e) { fail(msg.failed); return; }
    busy = true;
    button.disabled = true;
    say(msg.locking, false);
    var data = new FormData();
    data.append("csrf_token", form.elements.csrf_token.value);
    data.append("sealed", "1");
    data.append("envelope", JSON.stringify(env));
    data.append("message", "");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "fetch");
    xhr.onerror = xhr.ontimeout = function () { fail(msg.offline); };
    xhr.timeout = 120000;
    xhr.onload = function () {
      var here = new URL(form.action, location.href).href;
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL && xhr.responseURL !== here) {
        box.value = "";
        location.replace(xhr.responseURL);
      } else if (xhr.status >= 200 && xhr.status < 300) {  // e.g. "your inbox had closed": its page
        document.open(); document.write(xhr.responseText); document.close();
      } else {
        var said;
        try {
          if (/json/.test(xhr.getResponseHeader("Content-Type") || "")) said = JSON.parse(xhr.responseText).error;
          else {
            var el = new DOMParser().parseFromString(xhr.responseText, "text/html")
              .querySelector("#reply-error, main .error, main .field-error, main h1");
            said = el && el.textContent.trim();
          }
        } catch (e) { said = null; }
        fail(said || msg.failed);
      }
    };
    xhr.send(data);
  });
})();

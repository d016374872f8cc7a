// The report page with no signal: only sealed envelopes kept on the phone (IndexedDB), sent
// when the network returns; receipts shown, or sealed to a PIN-wrapped key. docs/channels.md.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var E = window.ReporterEnvelope;
  var CACHE = "reporter-offline-v1";
  if (!form || !E || !window.indexedDB || !window.Promise) return;
  var msg = document.getElementById("js-messages").dataset;
  var path = location.pathname;

  // The worker (/sw.js) in the background, and this page's own markup in the cache (typed words
  // are never in the markup) so 2G does not fetch it twice; never a refusal page (her words).
  if (navigator.serviceWorker && window.caches && !document.getElementById("form-error")) {
    window.addEventListener("load", function () {
      var copy = document.documentElement.cloneNode(true);  // less what our scripts added
      ["#quick-exit-bottom", "#outbox"].forEach(function (s) { var e = copy.querySelector(s); if (e) e.parentNode.removeChild(e); });
      copy.classList.remove("has-exit-bottom", "has-js");
      var html = "<!doctype html>\n" + copy.outerHTML;
      navigator.serviceWorker.register("/sw.js").catch(function () { /* no worker: online only */ });
      caches.open(CACHE).then(function (c) {
        return c.match(path).then(function (hit) {
          if (!hit) return c.put(path, new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } }));
        });
      }).catch(function () {});
    });
  }

  // ---- IndexedDB: "outbox" holds envelopes, "lock" the PIN key pair (wrapped secret) ----------
  var dbp = null;
  function db() {
    return dbp || (dbp = new Promise(function (ok, fail) {
      var r = indexedDB.open("reporter-outbox", 1);
      r.onupgradeneeded = function () {
        r.result.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
        r.result.createObjectStore("lock");
      };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    }));
  }
  function tx(store, mode, fn) {
    return db().then(function (d) {
      return new Promise(function (ok, fail) {
        var t = d.transaction(store, mode), out = fn(t.objectStore(store));
        t.oncomplete = function () { ok(out && out.result); };
        t.onerror = t.onabort = function () { fail(t.error); };
      });
    });
  }
  function all() { return tx("outbox", "readonly", function (s) { return s.getAll(); }); }
  function save(item) { return tx("outbox", "readwrite", function (s) { return s.put(item); }); }
  function drop(id) { return tx("outbox", "readwrite", function (s) { return s.delete(id); }); }
  function lock() { return tx("lock", "readonly", function (s) { return s.get("pin"); }); }

  // ---- the visible list --------------------------------------------------------------------
  var box = document.createElement("section");
  box.id = "outbox"; box.className = "box"; box.hidden = true;
  box.innerHTML = "<h2></h2><ol id='outbox-list'></ol><p id='outbox-status' role='status' aria-live='polite'></p>" +
    "<form id='outbox-pin'><label for='pin'></label><input id='pin' type='password' inputmode='numeric' autocomplete='off' minlength='6'> <button type='submit' class='secondary'></button></form>";
  box.querySelector("h2").textContent = msg.outbox;
  form.parentNode.insertBefore(box, form.nextSibling);  // below Send, where she looks
  var list = box.querySelector("ol"), note = box.querySelector("#outbox-status");
  var pinForm = box.querySelector("form"), pinInput = box.querySelector("input");
  var shown = {};  // receipts received while this page is open: on screen only, never stored

  function el(tag, cls, text) { var e = document.createElement(tag); e.className = cls || ""; e.textContent = text || ""; return e; }
  function render() {
    return Promise.all([all(), lock()]).then(function (r) {
      var items = r[0], pinned = !!r[1], locked = items.filter(function (i) { return i.receipt; });
      list.textContent = "";
      items.forEach(function (i) {
        var li = el("li", "outbox-item " + (i.receipt ? "sent" : i.refused ? "refused" : "waiting"),
          i.receipt ? msg.sentLocked : i.refused ? i.refused + " " : msg.waiting);
        if (i.refused) li.appendChild(button(msg.remove, function () { drop(i.id).then(render); }));
        list.appendChild(li);
      });
      Object.keys(shown).forEach(function (k) {
        var li = el("li", "outbox-item sent", msg.sent + " ");
        li.appendChild(el("strong", "outbox-receipt", shown[k]));
        li.appendChild(button(msg.written, function () { delete shown[k]; render(); }));
        list.appendChild(li);
      });
      box.hidden = !list.firstChild;
      pinForm.querySelector("label").textContent = locked.length ? msg.pinOpen : msg.pinLabel;
      pinForm.querySelector("button").textContent = locked.length ? msg.pinShow : msg.pinSet;
      pinForm.hidden = !locked.length && (pinned || !items.length);
      if (pinned && !locked.length && items.length) note.textContent = msg.pinLocked;
    });
  }
  function button(text, fn) { var b = el("button", "secondary", text); b.type = "button"; b.addEventListener("click", fn); return b; }

  // A PIN: set one (a fresh key pair, its secret wrapped under the PIN), or open the receipts.
  pinForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var pin = pinInput.value;
    pinInput.value = "";
    if (!/^\d{6,}$/.test(pin)) { note.textContent = msg.pinShort; return; }
    Promise.all([all(), lock()]).then(function (r) {
      var locked = r[0].filter(function (i) { return i.receipt; });
      if (!locked.length) {
        var pair = window.nacl.box.keyPair();
        return E.wrapSecretKey(pair.secretKey, pin, 600000).then(function (wrap) {
          return tx("lock", "readwrite", function (s) { return s.put({ pk: E.b64encode(pair.publicKey), wrap: wrap }, "pin"); });
        }).then(function () { note.textContent = msg.pinLocked; });
      }
      return E.unwrapSecretKey(r[1].wrap, pin).then(function (sk) {
        return Promise.all(locked.map(function (i) {
          shown[i.id] = E.open(i.receipt, sk).receipt;
          return drop(i.id);
        }));
      }, function () { note.textContent = msg.pinWrong; });
    }).then(render);
  });

  // ---- sending ------------------------------------------------------------------------------
  function fresh() {  // a new single-use form id and CSRF token, from the form page itself
    return fetch(form.action, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("form");
      return r.text();
    }).then(function (text) {
      var d = new DOMParser().parseFromString(text, "text/html");
      function v(n) { var i = d.querySelector("#report-form input[name=" + n + "]"); return i && i.value; }
      return { form_id: v("form_id"), csrf_token: v("csrf_token") };
    });
  }
  function send(item, t) {
    var data = new FormData();
    item.form_id = item.form_id || t.form_id;  // kept: a resend of the same form id is the same report
    data.append("csrf_token", t.csrf_token);
    data.append("form_id", item.form_id);
    data.append("sealed", "1");
    data.append("province", item.province);
    data.append("envelope", JSON.stringify(item.envelope));
    data.append("attachment_headers", JSON.stringify(item.headers));
    item.bodies.forEach(function (b, i) { data.append("attachment", new Blob([b]), "sealed-" + i + ".bin"); });
    return save(item).then(function () {
      return fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
    }).then(function (r) {
      return r.json().then(function (j) {
        if (r.ok && typeof j.next === "string" && j.next.charAt(0) === "/" && j.next.charAt(1) !== "/") return receiptFrom(j.next);
        // refused with fresh tokens (the CSRF token was fresh, so the form id was too old,
        // past 24 hours): once more with a new form id; a second refusal is final
        if (r.status === 400 && j.form_id && !item.retried) {
          item.retried = true; item.form_id = j.form_id;
          return send(item, { csrf_token: j.csrf_token });
        }
        if (r.status === 429 || r.status >= 500) throw new Error("later");
        item.refused = j.error || msg.refused;
        return save(item).then(function () { return null; });
      });
    });
  }
  function receiptFrom(next) {
    return fetch(next, { credentials: "same-origin", cache: "no-store" }).then(function (r) { return r.text(); }).then(function (text) {
      var el = new DOMParser().parseFromString(text, "text/html").getElementById("receipt");
      return el ? el.textContent.trim() : msg.sentGone;
    });
  }
  var sending = false;
  function sendAll() {
    if (sending || navigator.onLine === false) return;
    sending = true;
    Promise.all([all(), lock()]).then(function (r) {
      var waiting = r[0].filter(function (i) { return !i.receipt && !i.refused; }), pinned = r[1];
      if (!waiting.length) return;
      note.textContent = msg.sendingQueued;
      return waiting.reduce(function (chain, item) {
        return chain.then(fresh).then(function (t) { return send(item, t); }).then(function (receipt) {
          if (receipt == null) return render();
          if (pinned) {  // kept locked under her PIN until she opens it
            item.receipt = E.seal({ receipt: receipt }, [E.b64decode(pinned.pk, 32)]);
            ["envelope", "headers", "bodies", "form_id"].forEach(function (k) { delete item[k]; });
            return save(item).then(render);
          }
          shown[item.id] = receipt;
          return drop(item.id).then(render);
        });
      }, Promise.resolve()).then(function () {
        var st = document.getElementById("js-status");  // "No signal: ... locked" no longer holds
        if (st && st.textContent === msg.kept) st.textContent = "";
        note.textContent = "";
      });
    }).catch(function () { note.textContent = msg.later; setTimeout(sendAll, 60000); })
      .then(function () { sending = false; return render(); });
  }

  window.ReporterOffline = {
    keep: function (sealed) {
      return save({ province: sealed.province, envelope: sealed.envelope,
                    headers: sealed.files.map(function (f) { return f.header; }),
                    bodies: sealed.files.map(function (f) { return f.body; }) }).then(render).then(function () {
        if (box.scrollIntoView) box.scrollIntoView({ block: "nearest" });
      });
    },
    sendAll: sendAll
  };
  window.addEventListener("online", sendAll);
  render().then(sendAll).catch(function () {});
})();

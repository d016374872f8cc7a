// Staff side: keys live only in this browser. The passphrase never leaves it; the unwrapped
// secrets are kept in this tab's sessionStorage (gone when the tab closes or she logs out).
(function () {
  "use strict";
  var E = window.ReporterEnvelope;
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var store = window.sessionStorage;
  var SK = "staff.sk", CASES = "staff.cases";

  function $(id) { return document.getElementById(id); }
  function text(el, value) { if (el) el.textContent = value == null ? "" : String(value); }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("The server said " + r.status);
        return r.json();
      });
  }
  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || ("The server said " + r.status));
        return data;
      });
    });
  }

  function mySecret() { var v = store.getItem(SK); return v ? E.b64decode(v, 32) : null; }
  function caseKeys() { return JSON.parse(store.getItem(CASES) || "{}"); }  // kid -> {scope, sk}
  function lockState() {
    var n = Object.keys(caseKeys()).length;
    text($("lock-state"), mySecret() ? "Unlocked (" + n + " case keys)" : "Locked");
  }

  // Unlock: open my wrapped secret with the passphrase, then each case key granted to me.
  function unlock(passphrase) {
    return getJSON("/staff/keys/me").then(function (me) {
      if (!me.wrap) throw new Error("Set up your key first.");
      return E.unwrapSecretKey(me.wrap, passphrase).then(function (sk) {
        var cases = {};
        me.grants.forEach(function (g) {
          var opened = E.open(g.sealed, sk);
          cases[g.kid] = { scope: g.scope, sk: opened.sk };
        });
        store.setItem(SK, E.b64encode(sk));
        store.setItem(CASES, JSON.stringify(cases));
        lockState();
        return postJSON("/staff/keys/unlocked", {});
      });
    });
  }

  function whenUnlocked(then) {
    if (mySecret()) { then(); return; }
    var form = $("unlock-form");
    if (!form) return;
    form.hidden = false;
    $("passphrase").focus();
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      text($("unlock-status"), "Unlocking…");
      var pass = $("passphrase").value;
      $("passphrase").value = "";
      unlock(pass).then(function () {
        form.hidden = true;
        text($("unlock-status"), "");
        then();
      }).catch(function () { text($("unlock-status"), "Wrong passphrase, or your key is damaged."); });
    });
  }

  // A case key that can open this envelope (by kid), or null.
  function keyFor(env) {
    var cases = caseKeys();
    for (var i = 0; i < (env.keys || []).length; i++) {
      var c = cases[env.keys[i].kid];
      if (c) return E.b64decode(c.sk, 32);
    }
    return null;
  }

  // ---- key set-up -----------------------------------------------------------------------
  var setup = $("key-setup");
  if (setup) setup.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var a = $("pass1").value, b = $("pass2").value;
    if (a.length < 20) { text($("setup-status"), "Use at least 20 characters."); return; }
    if (a !== b) { text($("setup-status"), "The two passphrases are not the same."); return; }
    text($("setup-status"), "Making your key…");
    var pair = window.nacl.box.keyPair();
    E.wrapSecretKey(pair.secretKey, a, 600000).then(function (wrap) {
      $("pass1").value = ""; $("pass2").value = "";
      return postJSON("/staff/keys/setup", { public_key: E.b64encode(pair.publicKey), wrap: wrap });
    }).then(function (res) {
      store.setItem(SK, E.b64encode(pair.secretKey));
      store.setItem(CASES, "{}");
      window.location.assign(res.next);
    }).catch(function (err) { text($("setup-status"), err.message); });
  });

  // ---- one report -----------------------------------------------------------------------
  var view = $("report-view");
  var current = null;
  var labelsEl = $("staff-labels");
  var LABELS = labelsEl ? JSON.parse(labelsEl.textContent) : {};
  // the label of a code, or the code itself as text when the vocabulary does not know it
  function label(kind, code) {
    var map = LABELS[kind] || {};
    return Object.prototype.hasOwnProperty.call(map, code) ? map[code] : String(code);
  }
  function listOf(el, kind, codes) {
    el.textContent = "";
    [].concat(codes || []).forEach(function (code) {
      var li = document.createElement("li");
      text(li, label(kind, code));
      el.appendChild(li);
    });
  }
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  function when(w) {
    w = w || {};
    if (!Number.isInteger(w.year)) return "not given";
    if (!Number.isInteger(w.month) || w.month < 1 || w.month > 12) return w.year + " (month not given)";
    var m = MONTHS[w.month - 1] + " " + w.year;
    return Number.isInteger(w.day) ? w.day + " " + m : m + " (day not given)";
  }
  function showReport() {
    getJSON(view.dataset.url).then(function (data) {
      current = data;
      if (!data.envelope) { text($("report-state"), "This report's content was deleted after the retention period."); return; }
      var sk = keyFor(data.envelope);
      if (!sk) { text($("report-state"), "You hold no key for this report. Ask a coordinator for a grant."); return; }
      var p = E.open(data.envelope, sk);
      var st = $("report-status");
      if (st && data.status) { st.dataset.status = data.status; text(st, label("statuses", data.status)); }
      if ($("report-assignee") && data.assigned_to) text($("report-assignee"), data.assigned_to);
      listOf($("f-categories"), "categories", p.categories);
      listOf($("f-perpetrators"), "perpetrators", p.perpetrators);
      text($("f-when"), when(p.when));
      text($("f-province"), p.province ? label("provinces", p.province) : "");
      var place = p.place || {};
      text($("f-place"), [place.town, place.text].filter(Boolean).join(" · "));
      text($("f-pin"), p.pin ? p.pin.lat + ", " + p.pin.lon : "none");
      text($("f-narrative"), p.narrative);
      text($("f-details"), p.perpetrator_details);
      var c = p.consent || {};
      text($("f-consent"), (c.contact ? "may be messaged" : "do NOT message") + "; " +
        (c.legal ? "legal partner may see it" : "legal partner may not see it"));
      var list = $("f-files");
      (data.attachments || []).forEach(function (a, i) {
        var meta = (p.attachments || [])[i] || {};
        var li = document.createElement("li");
        var btn = document.createElement("button");
        btn.type = "button"; btn.className = "secondary";
        text(btn, "Open " + (meta.name || "file") + " (" + (meta.type || "?") + ")");
        btn.addEventListener("click", function () { openFile(a, meta, sk, li); });
        li.appendChild(btn);
        list.appendChild(li);
      });
      showMessages(data);
      keyProblems(data);
      prefill(p);
      if (window.ReporterAlerts) window.ReporterAlerts.reportOpened(data, p);  // alerts.js
      $("report-fields").hidden = false;
      text($("report-state"), "");
      if (c.contact && data.reply_key) $("message-form").hidden = false;
      // referral.js and outcomes (issue 17) work on the opened report without fetching it again
      document.dispatchEvent(new CustomEvent("staff:report-opened", { detail: { data: data, payload: p, holder: sk } }));
    }).catch(function (err) { text($("report-state"), "Could not open this report: " + err.message); });
  }

  function openFile(a, meta, sk, li) {
    fetch(view.dataset.url.replace(/\/data$/, "/attachments/" + a.id), { credentials: "same-origin" })
      .then(function (r) { return r.arrayBuffer(); })
      .then(function (buf) {
        if (meta.kc && meta.kc !== a.header.kc) throw new Error("This file does not belong to this report.");
        var bytes = E.openAttachment(a.header, new Uint8Array(buf), sk);
        var url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
        var link = document.createElement("a");
        link.href = url; link.download = meta.name || "file";
        text(link, "Save " + (meta.name || "file"));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(link);
      }).catch(function (err) { li.appendChild(document.createTextNode(" " + err.message)); });
  }

  function showMessages(data) {
    var ol = $("f-messages");
    ol.textContent = "";
    if (!(data.messages || []).length) {
      var none = document.createElement("li"); none.className = "muted";
      text(none, "No messages yet.");
      ol.appendChild(none);
    }
    (data.messages || []).forEach(function (m) {
      var li = document.createElement("li");
      var sk = keyFor(m.envelope);
      var body = "(no key for this message)";
      if (sk) { try { body = E.open(m.envelope, sk).text; } catch (e) { body = "(damaged message)"; } }
      var who = m.direction === "to_reporter" ? "To her" : (m.direction === "from_reporter" ? "From her" : "Staff note (the reporter never sees it)");
      var meta = document.createElement("p"); meta.className = "hint"; text(meta, who + " · " + m.sent_on);
      var pre = document.createElement("p"); pre.className = "msg"; text(pre, body);
      li.appendChild(meta); li.appendChild(pre);
      ol.appendChild(li);
    });
  }

  function prefill(p) {
    var form = $("publish-form");
    if (!form || form.dataset.kept) return;  // sent back with a problem: keep what she chose
    // compare values, never build a selector from them: the payload is untrusted text
    ["categories", "perpetrators"].forEach(function (name) {
      var wanted = Array.isArray(p[name]) ? p[name] : [];
      Array.prototype.forEach.call(form.querySelectorAll("input[name=" + name + "]"), function (el) {
        el.checked = wanted.indexOf(el.value) !== -1;
      });
    });
    var w = p.when || {};
    if (Number.isInteger(w.year) && Number.isInteger(w.month)) {
      form.elements.month.value = w.year + "-" + String(w.month).padStart(2, "0");
    }
    if (p.place && Number.isInteger(p.place.town_id)) {
      var opt = Array.prototype.filter.call(form.elements.town.options, function (o) {
        return o.value === String(p.place.town_id);
      })[0];
      if (opt) form.elements.town.value = opt.value;
    }
  }

  // ---- the publish form's town list, filtered by name as she types (no download) --------
  function fold(s) { return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  var townSelect = $("town"), townSearch = $("town-search");
  if (townSelect && townSearch) {
    var allTowns = Array.prototype.slice.call(townSelect.options, 1).map(function (o) {
      return { value: o.value, name: o.textContent, key: fold(o.textContent) };
    });
    $("town-search-box").hidden = false;
    townSearch.addEventListener("input", function () {
      var q = fold(townSearch.value.trim()), chosen = townSelect.value;
      var hits = allTowns.filter(function (t) { return !q || t.key.indexOf(q) !== -1; });
      while (townSelect.options.length > 1) townSelect.remove(1);
      hits.forEach(function (t) {
        var o = document.createElement("option");
        o.value = t.value; text(o, t.name);
        townSelect.appendChild(o);
      });
      if (hits.length === 1) townSelect.value = hits[0].value;
      else if (hits.some(function (t) { return t.value === chosen; })) townSelect.value = chosen;
      else townSelect.value = "";
      text($("town-count"), !q ? "" : hits.length === 0 ? "No town matches. Try fewer letters, or give a point." :
        hits.length === 1 ? "One town matches: " + hits[0].name + " (chosen)." : hits.length + " towns match: choose one in the list.");
    });
  }

  // Case keys the server lists for this report, checked against her own keys and this
  // browser's pins (pins.js); each problem is shown with a way to accept a legitimate rotation.
  function keyProblems(data) {
    var P = window.ReporterPins;
    var problems = P.checkRecipients(data.recipients, data.province, caseKeys());
    var box = $("key-warning");
    if (box) {
      box.textContent = "";
      box.hidden = !problems.length;
      problems.forEach(function (pr) {
        var line = document.createElement("p");
        text(line, P.describe(pr) + " Nothing is sealed to it until you accept it. Accept only after a coordinator read you the same fingerprint.");
        if (pr.kid) {
          var b = document.createElement("button");
          b.type = "button"; b.className = "secondary accept-key"; text(b, "Accept the new " + pr.scope + " key");
          b.addEventListener("click", function () { P.accept(pr.scope, pr.kid); keyProblems(data); });
          line.appendChild(document.createTextNode(" ")); line.appendChild(b);
        }
        box.appendChild(line);
      });
    }
    return problems;
  }

  // A staff-only note (the reason for needs-info or reject) is sealed here to the report's case
  // keys (never the reporter's reply key); the typed text is never sent.
  var statusForm = $("status-form");
  if (statusForm) statusForm.addEventListener("submit", function (ev) {
    var area = $("reason"), sealedField = $("reason-envelope");
    var reason = area ? area.value.trim() : "";
    if (!reason) { if (sealedField) sealedField.value = ""; return; }  // the server asks for one
    if (!current || !current.recipients || keyProblems(current).length) {
      ev.preventDefault();
      text($("status-note"), !current ? "Unlock your key and open the report first: the note is sealed in this browser." :
        "Not sent: check the key warning above.");
      return;
    }
    var r = current.recipients;
    var env = E.seal({ v: 1, from: "staff", text: reason },
      [r.national.pk, r.province.pk, r.recovery.pk].map(function (k) { return E.b64decode(k, 32); }));
    sealedField.value = JSON.stringify(env);
    area.removeAttribute("name");  // only the sealed note goes out
  });

  if (view) {
    whenUnlocked(function () { showReport(); });
    $("message-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = $("message-text").value.trim();
      if (!body || !current) return;
      var r = current.recipients;
      if (keyProblems(current).length) { text($("message-status"), "Not sent: check the key warning above."); return; }
      var pks = [r.national.pk, r.province.pk, r.recovery.pk, current.reply_key].map(function (k) { return E.b64decode(k, 32); });
      var env = E.seal({ v: 1, from: "moderator", text: body }, pks);
      postJSON(view.dataset.messageUrl, { envelope: env }).then(function () {
        $("message-text").value = "";
        text($("message-status"), "Sent.");
        showReport();
      }).catch(function (err) { text($("message-status"), err.message); });
    });
  }

  // ---- key grants, recovery ceremony, rotation --------------------------------------------
  var keysView = $("keys-view");
  function loadKeys() {
    return getJSON(keysView.dataset.stateUrl).then(function (state) {
      var tbody = $("grant-table").querySelector("tbody");
      tbody.textContent = "";
      var mine = caseKeys();
      state.staff.forEach(function (s) {
        var tr = document.createElement("tr");
        [s.login, s.roles.join(", "), (s.provinces || []).join(", ")].forEach(function (v) {
          var td = document.createElement("td"); text(td, v); tr.appendChild(td);
        });
        var fpCell = document.createElement("td");
        if (s.public_key) {
          var code = document.createElement("code"); code.className = "fingerprint";
          text(code, window.ReporterPins.fingerprint(E.b64decode(s.public_key, 32)));
          fpCell.appendChild(code);
          if (window.ReporterPins.peerConfirmed(s.login, s.public_key)) fpCell.appendChild(document.createTextNode(" (confirmed)"));
          else if (window.ReporterPins.peerChanged(s.login, s.public_key)) fpCell.appendChild(document.createTextNode(" (CHANGED since you confirmed it)"));
        }
        tr.appendChild(fpCell);
        var granted = state.grants.filter(function (g) { return g.staff_id === s.id; }).map(function (g) {
          var k = state.case_keys.filter(function (c) { return c.id === g.case_key_id; })[0];
          return k ? k.scope : "?";
        });
        var td = document.createElement("td"); text(td, granted.join(", ")); tr.appendChild(td);
        var act = document.createElement("td");
        if (s.public_key) {
          // only the keys her role may hold (the server refuses the others, e.g. national to a moderator)
          state.case_keys.filter(function (k) { return k.active && k.scope !== "recovery" && mine[k.kid] && (!s.may_hold || s.may_hold.indexOf(k.scope) >= 0); }).forEach(function (k) {
            var b = document.createElement("button");
            b.type = "button"; b.className = "secondary grant";
            b.dataset.staff = s.login; b.dataset.scope = k.scope;
            text(b, k.scope);
            b.addEventListener("click", function () {
              if (!window.ReporterPins.peerConfirmed(s.login, s.public_key)) {
                var typed = confirmFingerprint(s);
                if (typed === null) return;
                if (!window.ReporterPins.confirmPeer(s.login, s.public_key, typed)) {
                  text($("keys-status"), "That fingerprint does not match the key the server lists for " + s.login +
                    ". Nothing was granted. Check it with her again; if it still differs, tell an admin: the server may be listing a false key.");
                  return;
                }
              }
              var sealed = E.seal({ scope: k.scope, sk: mine[k.kid].sk }, [E.b64decode(s.public_key, 32)]);
              postJSON(keysView.dataset.grantUrl, { staff_id: s.id, case_key_id: k.id, sealed: sealed })
                .then(function () { text($("keys-status"), "Granted " + k.scope + " to " + s.login + "."); loadKeys(); })
                .catch(function (err) { text($("keys-status"), err.message); });
            });
            act.appendChild(b);
          });
        } else { text(act, "no key yet"); }
        tr.appendChild(act);
        tbody.appendChild(tr);
      });
      return state;
    });
  }

  // the fingerprint she read out (by phone or in person, from her own account page), or null
  function confirmFingerprint(s) {
    var typed = window.prompt("Before granting to " + s.login + ": ask her to read the fingerprint on her own " +
      "\"My account\" page (by phone or in person, not by a message through this site) and type it here.", "");
    return typed === null ? null : typed;
  }

  function grantToMe(state, scopeKeys) {
    // scopeKeys: [{key: caseKeyRow, sk: b64}]
    var me = E.b64decode(state.me, 32);
    if (!window.ReporterPins.ownKeyOk(state.me, mySecret())) return Promise.reject(new Error("The server lists another key for you than the one in this browser: nothing was granted. Tell an admin."));
    return scopeKeys.reduce(function (chain, item) {
      return chain.then(function () {
        var sealed = E.seal({ scope: item.key.scope, sk: item.sk }, [me]);
        return postJSON(keysView.dataset.grantUrl, { staff_id: state.myId, case_key_id: item.key.id, sealed: sealed });
      });
    }, Promise.resolve());
  }

  if (keysView) {
    whenUnlocked(loadKeys);
    $("recovery-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var secret = $("recovery-secret").value.trim();
      $("recovery-secret").value = "";
      Promise.all([getJSON(keysView.dataset.stateUrl), getJSON("/staff/keys/me")]).then(function (both) {
        var state = both[0], me = both[1];
        var rsk = E.b64decode(secret, 32);
        var myRow = state.staff.filter(function (s) { return s.public_key === me.public_key; })[0];
        var items = state.case_keys.filter(function (k) { return k.sealed_secret && k.active; }).map(function (k) {
          return { key: k, sk: E.open(k.sealed_secret, rsk).sk };
        });
        return grantToMe({ me: me.public_key, myId: myRow.id }, items);
      }).then(function () {
        store.removeItem(SK);
        text($("keys-status"), "Done. Unlock again to use your new keys.");
        window.location.reload();
      }).catch(function (err) { text($("keys-status"), "Could not use the recovery key: " + err.message); });
    });
    $("rotate-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var scope = $("rotate-scope").value;
      Promise.all([getJSON(keysView.dataset.stateUrl), getJSON("/staff/keys/me")]).then(function (both) {
        var state = both[0], me = both[1];
        var recovery = state.case_keys.filter(function (k) { return k.scope === "recovery" && k.active; })[0];
        var bad = window.ReporterPins.checkKey("recovery", recovery, caseKeys());
        if (bad) throw new Error(window.ReporterPins.describe(bad) + " Nothing was rotated.");
        if (!window.ReporterPins.ownKeyOk(me.public_key, mySecret())) throw new Error("The server lists another key for you than the one in this browser. Nothing was rotated.");
        var pair = window.nacl.box.keyPair();
        var secret = { scope: scope, sk: E.b64encode(pair.secretKey) };
        return postJSON(keysView.dataset.rotateUrl, {
          scope: scope, public_key: E.b64encode(pair.publicKey),
          sealed_secret: E.seal(secret, [E.b64decode(recovery.pk, 32)]),
          grant: E.seal(secret, [E.b64decode(me.public_key, 32)])
        });
      }).then(function (res) {
        store.removeItem(SK);
        text($("keys-status"), "New " + scope + " key " + res.kid + ". Unlock again, then grant it to colleagues.");
      }).catch(function (err) { text($("keys-status"), err.message); });
    });
  }

  var rewrapForm = $("rewrap-form");
  if (rewrapForm) rewrapForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var scope = $("rewrap-scope").value, total = 0;
    function batch() {
      return getJSON(rewrapForm.dataset.stateUrl + "?scope=" + encodeURIComponent(scope)).then(function (state) {
        var cases = caseKeys();
        var fresh = cases[state.active.kid];
        if (!fresh) throw new Error("Unlock a session that holds the new " + scope + " key.");
        var items = state.items.map(function (it) {
          var holder = keyFor(it.env);
          if (!holder) throw new Error("You hold no old key for some envelopes.");
          return { kind: it.kind, id: it.id, env: E.addRecipient(it.env, holder, E.b64decode(fresh.sk, 32)) };
        });
        if (!items.length) return total;
        return postJSON(rewrapForm.dataset.url, { scope: scope, items: items }).then(function (res) {
          total += res.changed;
          return batch();
        });
      });
    }
    text($("keys-status"), "Re-wrapping…");
    batch().then(function (n) { text($("keys-status"), "Re-wrapped " + n + " envelopes for " + scope + "."); })
      .catch(function (err) { text($("keys-status"), err.message); });
  });

  // for referral.js (issue 17): the same unlock and key store, not a copy of them
  window.ReporterStaff = { whenUnlocked: whenUnlocked, caseKeys: caseKeys, keyFor: keyFor,
    getJSON: getJSON, postJSON: postJSON, label: label, when: when };

  var logout = $("logout-form");
  if (logout) logout.addEventListener("submit", function () { store.clear(); });
  lockState();
})();

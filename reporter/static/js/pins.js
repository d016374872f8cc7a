// Key fingerprints and pins (audit finding 13.4, key-directory substitution). The browser
// seals to public keys the server lists; a compromised server could list its own. So:
// - a case key the browser can check (she holds its secret) must be the one her secret makes;
// - every other case key (recovery, national for a moderator, ...) is pinned the first time
//   this browser sees it for its scope (localStorage) and a different one is a warning until
//   she accepts it, having compared its fingerprint with a coordinator;
// - a colleague's key gets a grant only after the granter typed the fingerprint the colleague
//   read to her out of band (her own page shows it); confirmed keys are remembered here.
// No cryptography of our own: SHA-512 and X25519 are tweetnacl's.
(function () {
  "use strict";
  var E = window.ReporterEnvelope, nacl = window.nacl;
  var PINS = "staff.pins.v1", PEERS = "staff.peers.v1";
  var local;
  try { local = window.localStorage; } catch (e) { local = null; }

  function hex(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }
  // first 16 bytes of SHA-512(pk), 8 groups of 4 hex digits (the first 4 are the kid)
  function fingerprint(pk) {
    var h = hex(nacl.hash(pk)).slice(0, 32);
    return h.match(/.{4}/g).join(" ");
  }
  function normal(s) { return String(s || "").toLowerCase().replace(/[^0-9a-f]/g, ""); }
  function load(name) {
    try { return JSON.parse((local && local.getItem(name)) || "{}") || {}; } catch (e) { return {}; }
  }
  function save(name, value) { if (local) local.setItem(name, JSON.stringify(value)); }
  function publicOf(skB64) { return nacl.box.keyPair.fromSecretKey(E.b64decode(skB64, 32)).publicKey; }

  // listed: {kid, pk} as the server gives it; scope: "national", "recovery", a province code.
  // held: kid -> {scope, sk} (her unlocked case keys). Returns null when the key is fine, else
  // {scope, kid, fingerprint, pinned, reason}.
  function checkKey(scope, listed, held) {
    var pk;
    try { pk = E.b64decode(listed.pk, 32); } catch (e) { return { scope: scope, reason: "damaged" }; }
    var kid = E.kid(pk);
    var fp = fingerprint(pk);
    if (kid !== listed.kid) return { scope: scope, kid: kid, fingerprint: fp, reason: "kid" };
    var pins = load(PINS);
    var mine = Object.keys(held || {}).filter(function (k) { return held[k].scope === scope; });
    var matches = mine.some(function (k) { return E.kid(publicOf(held[k].sk)) === kid; });
    if (matches) { pins[scope] = kid; save(PINS, pins); return null; }
    if (!pins[scope] && !mine.length) { pins[scope] = kid; save(PINS, pins); return null; }  // first sight
    if (pins[scope] === kid) return null;
    return { scope: scope, kid: kid, fingerprint: fp, pinned: pins[scope] || null,
             reason: mine.length ? "not-granted" : "changed" };
  }

  // The report's recipients as /staff/reports/<id>/data lists them.
  function checkRecipients(recipients, province, held) {
    var out = [];
    [["national", recipients.national], [province, recipients.province],
     ["recovery", recipients.recovery]].forEach(function (pair) {
      var problem = pair[1] ? checkKey(pair[0], pair[1], held) : { scope: pair[0], reason: "missing" };
      if (problem) out.push(problem);
    });
    return out;
  }

  function describe(p) {
    if (p.reason === "not-granted") return "The server lists a " + p.scope + " key (fingerprint " + p.fingerprint +
      ") that is not the one granted to you.";
    if (p.reason === "changed") return "The server lists a different " + p.scope + " key than before (now " +
      p.fingerprint + ", this browser knew " + p.pinned + "…).";
    return "The server lists a damaged " + p.scope + " key.";
  }

  function accept(scope, kid) { var pins = load(PINS); pins[scope] = kid; save(PINS, pins); }

  // A colleague's key: confirmed before (same kid) or not.
  function peerConfirmed(login, pkB64) {
    var peers = load(PEERS);
    return peers[login] === E.kid(E.b64decode(pkB64, 32));
  }
  function peerChanged(login, pkB64) {
    var peers = load(PEERS);
    return !!peers[login] && peers[login] !== E.kid(E.b64decode(pkB64, 32));
  }
  // typed: what the colleague read out; true (and remembered) when it matches the listed key
  function confirmPeer(login, pkB64, typed) {
    var fp = normal(fingerprint(E.b64decode(pkB64, 32)));
    if (normal(typed) !== fp) return false;
    var peers = load(PEERS);
    peers[login] = E.kid(E.b64decode(pkB64, 32));
    save(PEERS, peers);
    return true;
  }

  // her own key as the server lists it must be the one her unlocked secret makes
  function ownKeyOk(pkB64, mySecret) {
    if (!mySecret) return true;
    return E.kid(nacl.box.keyPair.fromSecretKey(mySecret).publicKey) === E.kid(E.b64decode(pkB64, 32));
  }

  window.ReporterPins = { fingerprint: fingerprint, checkKey: checkKey, checkRecipients: checkRecipients,
    describe: describe, accept: accept, peerConfirmed: peerConfirmed, peerChanged: peerChanged,
    confirmPeer: confirmPeer, ownKeyOk: ownKeyOk };

  // her own page: the fingerprint she reads out must come from her own unlocked secret, not
  // from what the server put on the page (a server that lies to the granter could lie here too)
  var mine = document.getElementById("my-fingerprint");
  if (mine && mine.dataset.pk) {
    var note = document.getElementById("my-fingerprint-check");
    var skB64;
    try { skB64 = window.sessionStorage.getItem("staff.sk"); } catch (e) { skB64 = null; }
    if (!skB64) {
      if (note) note.textContent = "Unlock your key (on a report or on the keys page) and come back: the fingerprint is then taken from your own key in this browser.";
    } else {
      var own = fingerprint(publicOf(skB64));
      mine.dataset.checked = own === mine.textContent.trim() ? "1" : "0";
      if (own !== mine.textContent.trim()) {
        mine.textContent = own;
        if (note) note.textContent = "The server lists another key for you than the one in this browser: do not read out anything, tell an admin.";
        mine.parentNode.className = "error";
      } else if (note) {
        note.textContent = "Checked against your own key in this browser.";
      }
    }
  }
})();

#!/usr/bin/env node
/* Runs the edge vectors (tests/data/envelope-edges-v1.json) against the JavaScript envelope
 * (reporter/static/js/envelope.js); driven by tests/test_envelope_edges_js.py.
 *
 *   node envelope_edges_check.js VECTORS.json
 *
 * Prints {controls: {name: true|message}, refusals: {group: {case: {name, message} | null}},
 * opens_if_allowed: {case: bool}} on stdout (null: nothing was refused); exit 1 on a crash. */
'use strict';

var fs = require('fs');
var path = require('path');
var ROOT = path.join(__dirname, '..', '..');
var nacl = require(path.join(ROOT, 'node_modules', 'tweetnacl'));
var E = require(path.join(ROOT, 'reporter', 'static', 'js', 'envelope.js'));

// {"$number": "NaN"} stands for the number JSON cannot spell (see the vectors' number_encoding).
function numbers(key, value) {
  if (value && typeof value === 'object' && !Array.isArray(value) &&
      Object.keys(value).length === 1 && typeof value.$number === 'string') {
    return Number(value.$number);
  }
  return value;
}

function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
function bytesEqual(a, b) { return a.length === b.length && a.every(function (x, i) { return x === b[i]; }); }

function outcome(fn) {
  try {
    fn();
  } catch (e) {
    return { name: e.name, message: e.message };
  }
  return null;
}

async function outcomeAsync(fn) {
  try {
    await fn();
  } catch (e) {
    return { name: e.name, message: e.message };
  }
  return null;
}

// A body that claims `length` bytes without holding them: open must refuse on the length alone.
function claimedBody(length) {
  var body = Object.create(Uint8Array.prototype);
  Object.defineProperty(body, 'length', { value: length });
  return body;
}

async function derivedOpens(wrap, passphrase, iterations, sk) {
  var subtle = globalThis.crypto.subtle;
  var base = await subtle.importKey('raw', new TextEncoder().encode(passphrase.normalize('NFC')),
    'PBKDF2', false, ['deriveBits']);
  var bits = await subtle.deriveBits({ name: 'PBKDF2', salt: E.b64decode(wrap.salt),
    iterations: iterations, hash: 'SHA-256' }, base, 256);
  var opened = nacl.secretbox.open(E.b64decode(wrap.wsk), E.b64decode(wrap.nonce), new Uint8Array(bits));
  return !!opened && bytesEqual(opened, E.b64decode(sk));
}

async function main(file) {
  var V = JSON.parse(fs.readFileSync(file, 'utf8'), numbers);
  var sk = E.b64decode(V.recipient.sk), pk = E.b64decode(V.recipient.pk);
  var controls = {}, refusals = {}, opensIfAllowed = {};

  controls.recipient_kid = E.kid(pk) === V.recipient.kid || 'kid mismatch';
  Object.keys(V.seal_must_succeed).forEach(function (name) {
    var payload = V.seal_must_succeed[name].payload;
    controls['seal ' + name] = outcome(function () {
      if (!same(E.open(E.seal(payload, [pk]), sk), payload)) throw new Error('round trip differs');
    }) || true;
  });
  var A = V.attachment;
  controls['attachment opens'] = outcome(function () {
    if (!bytesEqual(E.openAttachment(A.header, E.b64decode(A.body), sk), E.b64decode(A.data))) {
      throw new Error('attachment differs');
    }
  }) || true;
  var W = V.staff_wrap;
  controls['staff wrap opens'] = (await outcomeAsync(async function () {
    if (!bytesEqual(await E.unwrapSecretKey(W.wrap, W.passphrase), E.b64decode(W.sk))) {
      throw new Error('unwrapped key differs');
    }
  })) || true;

  refusals.seal_must_fail = {};
  Object.keys(V.seal_must_fail).forEach(function (name) {
    var payload = V.seal_must_fail[name].payload;
    refusals.seal_must_fail[name] = outcome(function () { E.seal(payload, [pk]); });
  });
  refusals.attachment_must_fail = {};
  Object.keys(V.attachment_must_fail).forEach(function (name) {
    var body = E.b64decode(V.attachment_must_fail[name].body);
    refusals.attachment_must_fail[name] = outcome(function () { E.openAttachment(A.header, body, sk); });
  });
  refusals.attachment_length_must_fail = {};
  var lengths = V.attachment_length_must_fail.cases;
  Object.keys(lengths).forEach(function (name) {
    var body = claimedBody(lengths[name].body_length);
    refusals.attachment_length_must_fail[name] = outcome(function () {
      E.openAttachment(A.header, body, sk);
    });
  });
  refusals.wrap_must_fail = {};
  var wraps = V.wrap_must_fail.cases, names = Object.keys(wraps);
  for (var i = 0; i < names.length; i++) {
    var c = wraps[names[i]];
    refusals.wrap_must_fail[names[i]] = await outcomeAsync(function () {
      return E.unwrapSecretKey(c.wrap, W.passphrase);
    });
    if (c.derived_with != null) {
      opensIfAllowed[names[i]] = await derivedOpens(c.wrap, W.passphrase, c.derived_with, W.sk);
    }
  }
  return { controls: controls, refusals: refusals, opens_if_allowed: opensIfAllowed };
}

main(process.argv[2]).then(function (report) {
  process.stdout.write(JSON.stringify(report));
}, function (e) {
  process.stderr.write((e && e.stack) || String(e));
  process.exit(1);
});

#!/usr/bin/env node
/* Runs the JavaScript payload (reporter/static/js/payload.js); driven by tests/test_payload_js.py.
 *
 *   node payload_check.js < {"vocabulary": {...}, "vectors": {...}, "make": [fields, ...]}
 *
 * Prints {"valid": [{name, ok, reason}], "invalid": [{name, reason}], "made": [payload | {reason}]}. */
'use strict';

var path = require('path');
var P = require(path.join(__dirname, '..', '..', 'reporter', 'static', 'js', 'payload.js'));

var input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
var vocab = input.vocabulary;
function reasonOf(fn) {
  try { fn(); return null; } catch (e) {
    if (e.name !== 'PayloadInvalid') throw e;
    return e.reason;
  }
}
var out = {
  valid: input.vectors.valid.map(function (c) {
    var reason = reasonOf(function () { if (P.check(c.payload, vocab) !== c.payload) throw new Error('not returned'); });
    return { name: c.name, reason: reason };
  }),
  invalid: input.vectors.invalid.map(function (c) {
    return { name: c.name, reason: reasonOf(function () { P.check(c.payload, vocab); }) };
  }),
  made: (input.make || []).map(function (f) {
    try { return P.make(f, vocab); } catch (e) {
      if (e.name !== 'PayloadInvalid') throw e;
      return { reason: e.reason };
    }
  }),
  names: (input.vectors.attachment_names || []).map(function (c) { return P.attachmentName(c.in); }),
  types: (input.vectors.attachment_types || []).map(function (c) { return P.attachmentType(c.in); }),
  sizes: (input.make || []).map(function (f) {
    try { return P.compactSize(P.make(f, vocab)); } catch (e) { return null; }
  })
};
process.stdout.write(JSON.stringify(out));

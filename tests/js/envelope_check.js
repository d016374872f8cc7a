#!/usr/bin/env node
/* Checks the JavaScript envelope (reporter/static/js/envelope.js); driven by
 * tests/test_envelope_js.py.
 *
 *   node envelope_check.js vectors VECTORS.json   run the shared vectors and self-checks
 *   node envelope_check.js ops < ops.json         run [{op, ...}] and print [{ok, ...}]
 *
 * Exit status 0 with a JSON report on stdout; 1 with the failed check on stderr. */
'use strict';

var fs = require('fs');
var path = require('path');
var ROOT = path.join(__dirname, '..', '..');
var nacl = require(path.join(ROOT, 'node_modules', 'tweetnacl'));
var E = require(path.join(ROOT, 'reporter', 'static', 'js', 'envelope.js'));

var b64 = E.b64encode;
function unb64(s) { return E.b64decode(s); }
function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
function bytesEqual(a, b) { return a.length === b.length && a.every(function (x, i) { return x === b[i]; }); }

var passed = [];
function check(name, ok, detail) {
  if (!ok) throw new Error('check failed: ' + name + (detail ? ' (' + detail + ')' : ''));
  passed.push(name);
}

function refused(name, fn, errorName, pattern) {
  try {
    fn();
  } catch (e) {
    check(name, e.name === (errorName || 'EnvelopeInvalid') && (!pattern || pattern.test(e.message)),
      e.name + ': ' + e.message);
    return e.message;
  }
  return check(name, false, 'no error thrown');
}

async function rejected(name, promise, pattern) {
  try {
    await promise;
  } catch (e) {
    return check(name, e.name === 'EnvelopeInvalid' && (!pattern || pattern.test(e.message)),
      e.name + ': ' + e.message);
  }
  return check(name, false, 'no rejection');
}

async function vectors(file) {
  var V = JSON.parse(fs.readFileSync(file, 'utf8'));
  var R = V.recipients, S = V.sealing_inputs;
  var nat = unb64(R.national.sk), gp = unb64(R.gauteng.sk), natPk = unb64(R.national.pk);
  var gpPk = unb64(R.gauteng.pk);

  var env = E.seal(V.payload, [natPk, gpPk], {
    k: unb64(S.k), nonce: unb64(S.nonce), esk: unb64(S.esk), keyNonces: S.key_nonces.map(unb64)
  });
  check('seal reproduces the known-answer envelope', same(env, V.envelope));
  check('national opens', same(E.open(V.envelope, nat), V.payload));
  check('gauteng opens', same(E.open(V.envelope, gp), V.payload));
  refused('outsider is not a recipient',
    function () { E.open(V.envelope, unb64(R.not_a_recipient.sk)); }, 'NotARecipient');
  var messages = {};
  Object.keys(V.must_fail).forEach(function (name) {
    [['national', nat], ['gauteng', gp]].forEach(function (r) {
      messages[name] = refused('must_fail ' + name + ' / ' + r[0],
        function () { E.open(V.must_fail[name], r[1]); });
    });
  });
  V.padding.cases.forEach(function (c) {
    check('padding ' + c.len, E.bucket(c.len) === c.size && E.pad(new Uint8Array(c.len)).length === c.size);
  });
  ['national', 'gauteng'].forEach(function (r) {
    check('kid ' + r, E.kid(unb64(R[r].pk)) === R[r].kid);
  });

  var W = V.staff_wrap;
  var sk = await E.unwrapSecretKey(W.wrap, W.passphrase);
  check('staff wrap vector unwraps', bytesEqual(sk, unb64(W.sk)));
  var again = await E.wrapSecretKey(sk, W.passphrase, W.wrap.iter,
    { salt: unb64(W.wrap.salt), nonce: unb64(W.wrap.nonce) });
  check('staff wrap vector is reproduced', same(again, W.wrap));
  var quick = await E.wrapSecretKey(sk, 'se\u00f1ora', 1000);
  check('wrap round trip (NFC)', bytesEqual(await E.unwrapSecretKey(quick, 'sen\u0303ora'), sk));
  await rejected('wrong passphrase', E.unwrapSecretKey(quick, 'wrong'), /^Wrong passphrase or damaged key\.$/);
  await rejected('low iteration count', E.unwrapSecretKey(Object.assign({}, quick, { iter: 10 })), /iteration/);

  selfChecks(V, nat, natPk, gp, gpPk);
  browserStyle(V, gp);
  return { ok: true, checks: passed, must_fail_messages: messages };
}

function selfChecks(V, nat, natPk, gp, gpPk) {
  ['QQ', 'QR==', 'QQ==QQ==', 'Q-==', 'Q_==', ' QQ==', 'QQ==\n', 'Q===', 'Z\u00e99v'].forEach(function (s) {
    refused('strict base64 ' + JSON.stringify(s), function () { E.b64decode(s); }, null, /standard base64/);
  });
  check('base64 round trip', [0, 1, 2, 3, 4, 5, 100].every(function (n) {
    var a = nacl.randomBytes(n);
    return bytesEqual(E.b64decode(E.b64encode(a)), a) && E.b64encode(a) === Buffer.from(a).toString('base64');
  }));

  var lowOrder = Uint8Array.from(Buffer.from(
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'));
  var zero = Object.assign({}, V.envelope, { epk: b64(new Uint8Array(32)) });
  refused('all-zero epk', function () { E.validate(zero); }, null, /unacceptable ephemeral/);
  refused('low-order epk', function () {
    E.open(Object.assign({}, V.envelope, { epk: b64(lowOrder) }), nat);
  }, null, /unacceptable ephemeral/);
  refused('low-order recipient', function () { E.seal({}, [lowOrder]); }, null, /not acceptable/);
  refused('required kid', function () { E.validate(V.envelope, ['0123456789abcdef']); }, null, /required key/);
  check('validate returns the envelope', E.validate(V.envelope, [V.recipients.national.kid]) === V.envelope);
  refused('version true', function () { E.validate(Object.assign({}, V.envelope, { v: true })); }, null,
    /version/);
  refused('extra field', function () { E.validate(Object.assign({}, V.envelope, { x: 1 })); }, null,
    /unexpected field/);

  function sized(n) {
    return JSON.stringify(E.seal({ categories: ['extortion'], province: 'GP', when: '2026-10',
      narrative: 'x'.repeat(n) }, [natPk, gpPk])).length;
  }
  check('10 and 900 character narratives seal to the same size', sized(10) === sized(900));

  [0, 1, 1019, 1020, 1021, 3067].forEach(function (n) {
    var data = nacl.randomBytes(n);
    var a = E.sealAttachment(data, [natPk, gpPk], 1024);
    check('attachment ' + n + ' length', a.body.length === Math.max(1, Math.ceil(n / 1020)) * 1040);
    check('attachment ' + n + ' opens', bytesEqual(E.openAttachment(a.header, a.body, gp), data));
  });
  var streamed = new E.AttachmentSealer([natPk], 1024), data = nacl.randomBytes(5000), parts = [];
  for (var i = 0; i < data.length; i += 700) parts.push(streamed.update(data.subarray(i, i + 700)));
  parts.push(streamed.finish());
  var joined = Buffer.concat(parts);
  check('streamed attachment opens', bytesEqual(E.openAttachment(streamed.header(), new Uint8Array(joined), nat), data));
  refused('update after finish', function () { streamed.update(new Uint8Array(1)); }, null, /already finished/);

  var three = E.sealAttachment(new Uint8Array(3060).fill(122), [natPk], 1024);
  var c = [0, 1, 2].map(function (j) { return three.body.slice(j * 1040, (j + 1) * 1040); });
  function body(list) { return new Uint8Array(Buffer.concat(list)); }
  refused('attachment truncated', function () { E.openAttachment(three.header, body([c[0], c[1]]), nat); },
    null, /truncated/);
  refused('attachment reordered', function () {
    E.openAttachment(three.header, body([c[1], c[0], c[2]]), nat);
  }, null, /out of order/);
  refused('attachment extra chunk', function () {
    E.openAttachment(three.header, body([c[0], c[1], c[2], c[0]]), nat);
  }, null, /after its last chunk/);
  refused('attachment extra bytes', function () {
    E.openAttachment(three.header, body([c[0], c[1], c[2], new Uint8Array(1)]), nat);
  }, null, /invalid length/);
  refused('attachment not a recipient', function () { E.openAttachment(three.header, three.body, gp); },
    'NotARecipient');
}

// Load both files as plain <script>s would be: no module, globals on self.
function browserStyle(V, gp) {
  var vm = require('vm');
  globalThis.self = globalThis;
  vm.runInThisContext(fs.readFileSync(path.join(ROOT, 'node_modules', 'tweetnacl', 'nacl-fast.min.js'), 'utf8'));
  vm.runInThisContext(fs.readFileSync(path.join(ROOT, 'reporter', 'static', 'js', 'envelope.js'), 'utf8'));
  var W = globalThis.ReporterEnvelope;
  check('browser-style load exposes ReporterEnvelope', W && W !== E && typeof W.open === 'function');
  check('browser-style open', same(W.open(V.envelope, gp), V.payload));
  var env = W.seal({ x: 'y' }, [E.b64decode(V.recipients.gauteng.pk)]);
  check('browser-style seal opens in node', same(E.open(env, gp), { x: 'y' }));
}

// Operations for the cross-language tests: bytes travel as base64 in JSON.
async function run(op) {
  switch (op.op) {
    case 'open':
      return E.open(op.env, unb64(op.sk));
    case 'validate':
      return E.validate(op.env, op.required) && true;
    case 'open_attachment':
      return b64(E.openAttachment(op.header, unb64(op.body), unb64(op.sk)));
    case 'seal':
      return E.seal(op.payload, op.pks.map(unb64));
    case 'seal_attachment':
      var a = E.sealAttachment(unb64(op.data), op.pks.map(unb64), op.chunk);
      return { header: a.header, body: b64(a.body) };
    case 'wrap':
      return E.wrapSecretKey(unb64(op.sk), op.passphrase, op.iterations);
    case 'unwrap':
      return b64(await E.unwrapSecretKey(op.wrap, op.passphrase));
    default:
      throw new Error('unknown op ' + op.op);
  }
}

async function ops() {
  var list = JSON.parse(fs.readFileSync(0, 'utf8')), out = [];
  for (var i = 0; i < list.length; i++) {
    try {
      out.push({ ok: true, result: await run(list[i]) });
    } catch (e) {
      out.push({ ok: false, name: e.name, message: e.message });
    }
  }
  return out;
}

(async function main() {
  var mode = process.argv[2];
  var report = mode === 'vectors' ? await vectors(process.argv[3]) : mode === 'ops' ? await ops() : null;
  if (!report) throw new Error('usage: envelope_check.js vectors FILE | ops < ops.json');
  process.stdout.write(JSON.stringify(report));
})().catch(function (e) {
  process.stderr.write((e && e.stack) || String(e));
  process.exit(1);
});

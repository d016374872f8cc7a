/* Encryption envelope v1 (DESIGN.md section 5): the JavaScript twin of reporter/envelope.py.
 * Browser: load tweetnacl's nacl-fast.min.js first; this exposes window.ReporterEnvelope.
 * Node: module.exports, with require('tweetnacl'). Every primitive comes from tweetnacl or
 * WebCrypto (PBKDF2); what this file adds is the format, strict parsing and refusals.
 * Errors are Error objects with name 'EnvelopeInvalid' or 'NotARecipient' and a message that
 * is safe to show. See docs/envelope.md. */
(function (root, factory) {
  'use strict';
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(require('tweetnacl'));
  } else {
    root.ReporterEnvelope = factory(root.nacl);
  }
})(typeof self !== 'undefined' ? self : this, function (nacl) {
  'use strict';

  var VERSION = 1, MIN_PADDED = 1024, MAX_PADDED = 1 << 20, MAX_RECIPIENTS = 8, MAC = 16;
  var CHUNK_SIZE = 65536, MIN_CHUNK = 1024, MAX_CHUNK = 1 << 20, BASE_BYTES = 16;
  var KDF = 'pbkdf2-sha256', ITERATIONS = 600000, MIN_ITER = 1000, MAX_ITER = 10000000;
  var ENV_FIELDS = ['v', 'epk', 'nonce', 'kc', 'ct', 'keys'];
  var ATT_FIELDS = ['v', 'epk', 'kc', 'base', 'chunk', 'keys'];
  var KEY_FIELDS = ['kid', 'nonce', 'wk'];
  var WRAP_FIELDS = ['v', 'kdf', 'iter', 'salt', 'nonce', 'wsk', 'kid'];
  var KID_RE = /^[0-9a-f]{16}$/;
  var B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  var B64_INV = {};
  for (var c = 0; c < 64; c++) B64_INV[B64.charAt(c)] = c;
  var encoder = new TextEncoder();
  var KC_LABEL = encoder.encode('reporter-envelope-v1-kc');
  // Any clamped scalar maps a low-order point to zero; tweetnacl does not refuse such points.
  var TEST_SCALAR = new Uint8Array(32).fill(1);

  function fail(message, name) {
    var e = new Error(message);
    e.name = name || 'EnvelopeInvalid';
    throw e;
  }

  function isBytes(x) { return x instanceof Uint8Array; }

  function concat(parts) {
    var n = 0, i, out, off = 0;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    out = new Uint8Array(n);
    for (i = 0; i < parts.length; i++) { out.set(parts[i], off); off += parts[i].length; }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    var d = 0;
    for (var i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  function allZero(a) { for (var i = 0; i < a.length; i++) if (a[i]) return false; return true; }

  function u32(n) { return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]); }

  function readU32(a, off) {
    return ((a[off] << 24) >>> 0) + (a[off + 1] << 16) + (a[off + 2] << 8) + a[off + 3];
  }

  // -- strict standard base64 with padding (an encoding, not crypto) ----------------------------

  function b64encode(a) {
    var out = [], i, n;
    for (i = 0; i + 2 < a.length; i += 3) {
      n = (a[i] << 16) | (a[i + 1] << 8) | a[i + 2];
      out.push(B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63]);
    }
    if (a.length - i === 1) {
      n = a[i] << 16;
      out.push(B64[n >> 18] + B64[(n >> 12) & 63] + '==');
    } else if (a.length - i === 2) {
      n = (a[i] << 16) | (a[i + 1] << 8);
      out.push(B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + '=');
    }
    return out.join('');
  }

  function b64decode(s, length, field) {
    field = field || 'value';
    if (typeof s !== 'string') fail('The ' + field + ' must be a base64 string.');
    if (s.length % 4 || !B64_RE.test(s)) fail('The ' + field + ' is not valid standard base64.');
    var pad = s.charAt(s.length - 2) === '=' ? 2 : s.charAt(s.length - 1) === '=' ? 1 : 0;
    var out = new Uint8Array((s.length / 4) * 3 - pad), o = 0, i, n;
    for (i = 0; i < s.length; i += 4) {
      n = (B64_INV[s[i]] << 18) | (B64_INV[s[i + 1]] << 12) |
        ((B64_INV[s[i + 2]] || 0) << 6) | (B64_INV[s[i + 3]] || 0);
      out[o++] = n >> 16;
      if (o < out.length) out[o++] = (n >> 8) & 255;
      if (o < out.length) out[o++] = n & 255;
    }
    // Refuse non-zero trailing bits: the same bytes must have only one spelling.
    if ((pad === 2 && B64_INV[s[s.length - 3]] & 15) ||
        (pad === 1 && B64_INV[s[s.length - 2]] & 3)) {
      fail('The ' + field + ' is not valid standard base64.');
    }
    if (length != null && out.length !== length) {
      fail('The ' + field + ' must be ' + length + ' bytes long.');
    }
    return out;
  }

  function hex(a) {
    var s = '';
    for (var i = 0; i < a.length; i++) s += (a[i] < 16 ? '0' : '') + a[i].toString(16);
    return s;
  }

  function kid(pk) { return hex(nacl.hash(pk).subarray(0, 8)); }

  function commit(k) { return nacl.hash(concat([KC_LABEL, k])).slice(0, 32); }

  function key32(key, what) {
    if (!isBytes(key) || key.length !== 32) fail('The ' + what + ' must be 32 bytes.');
    return key;
  }

  function acceptablePoint(pk) {
    return !allZero(pk) && !allZero(nacl.scalarMult(TEST_SCALAR, pk));
  }

  // -- padding --------------------------------------------------------------------------------

  function bucket(n) {
    if (n < 0 || n + 4 > MAX_PADDED) fail('The message is too large: the limit is 1 MiB.');
    var size = MIN_PADDED;
    while (size < n + 4) size *= 2;
    return size;
  }

  function pad(data) {
    var out = new Uint8Array(bucket(data.length));
    out.set(u32(data.length), 0);
    out.set(data, 4);
    return out;
  }

  function unpad(padded) {
    var size = padded.length;
    if (size < MIN_PADDED || size > MAX_PADDED || (size & (size - 1))) {
      fail('The padded message has an invalid size.');
    }
    var n = readU32(padded, 0);
    if (n > size - 4 || bucket(n) !== size) {
      fail('The padded message has an invalid length prefix.');
    }
    if (!allZero(padded.subarray(4 + n))) fail('The padding of the message is not all zeros.');
    return padded.slice(4, 4 + n);
  }

  // -- structure ------------------------------------------------------------------------------

  function fields(obj, names, what) {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      fail('The ' + what + ' must be a JSON object.');
    }
    var own = Object.keys(obj), i;
    if (names.indexOf('v') >= 0 && own.indexOf('v') >= 0 && obj.v !== VERSION) {
      fail('The ' + what + ' version is not supported.');
    }
    var missing = names.filter(function (f) { return own.indexOf(f) < 0; }).sort();
    if (missing.length) fail('The ' + what + " is missing the field '" + missing[0] + "'.");
    for (i = 0; i < own.length; i++) {
      if (names.indexOf(own[i]) < 0) fail('The ' + what + ' has an unexpected field.');
    }
    return obj;
  }

  function checkKid(value, what) {
    if (typeof value !== 'string' || !KID_RE.test(value)) {
      fail('The ' + what + ' kid must be 16 lowercase hex digits.');
    }
    return value;
  }

  function parseCommon(obj, requiredKids, maxRecipients, what) {
    var epk = b64decode(obj.epk, 32, what + " field 'epk'");
    if (!acceptablePoint(epk)) fail('The ' + what + ' has an unacceptable ephemeral public key.');
    var kc = b64decode(obj.kc, 32, what + " field 'kc'");
    var entries = obj.keys;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > maxRecipients) {
      fail('The ' + what + ' must list between 1 and ' + maxRecipients + ' keys.');
    }
    var keys = entries.map(function (entry) {
      fields(entry, KEY_FIELDS, 'wrapped key');
      return {
        kid: checkKid(entry.kid, 'wrapped key'),
        nonce: b64decode(entry.nonce, 24, "wrapped key field 'nonce'"),
        wk: b64decode(entry.wk, 48, "wrapped key field 'wk'")
      };
    });
    var kids = keys.map(function (w) { return w.kid; });
    kids.forEach(function (k, i) {
      if (kids.indexOf(k) !== i) fail('The ' + what + ' lists the same kid twice.');
    });
    (requiredKids || []).forEach(function (r) {
      if (kids.indexOf(r) < 0) {
        fail('The ' + what + ' is not sealed to the required key ' + r + '.');
      }
    });
    return { epk: epk, kc: kc, keys: keys };
  }

  function parse(env, requiredKids, opts) {
    var max = (opts && opts.maxRecipients) || MAX_RECIPIENTS;
    fields(env, ENV_FIELDS, 'envelope');
    var nonce = b64decode(env.nonce, 24, "envelope field 'nonce'");
    if (typeof env.ct === 'string' && env.ct.length > 4 * Math.ceil((MAX_PADDED + MAC) / 3)) {
      fail('The envelope ciphertext is too large.');
    }
    var ct = b64decode(env.ct, null, "envelope field 'ct'"), size = ct.length - MAC;
    if (size < MIN_PADDED || size > MAX_PADDED || (size & (size - 1))) {
      fail('The envelope ciphertext has an invalid length.');
    }
    var p = parseCommon(env, requiredKids, max, 'envelope');
    p.nonce = nonce;
    p.ct = ct;
    return p;
  }

  /** Check an envelope's structure without a secret key; returns it unchanged or throws. */
  function validate(env, requiredKids, opts) {
    parse(env, requiredKids, opts);
    return env;
  }

  // -- sealing and opening ----------------------------------------------------------------------

  function recipients(pks) {
    if (!Array.isArray(pks) || pks.length < 1 || pks.length > MAX_RECIPIENTS) {
      fail('An envelope needs between 1 and ' + MAX_RECIPIENTS + ' recipients.');
    }
    var kids = pks.map(function (pk) { return kid(key32(pk, 'recipient public key')); });
    kids.forEach(function (k, i) {
      if (kids.indexOf(k) !== i) fail('A recipient is listed twice.');
    });
    pks.forEach(function (pk) {
      if (!acceptablePoint(pk)) fail('A recipient public key is not acceptable.');
    });
    return pks;
  }

  // The fields shared by envelopes and attachment headers: v, epk, kc, keys.
  function wrapKey(k, pks, esk, keyNonces) {
    pks = recipients(pks);
    var eph = esk ? nacl.box.keyPair.fromSecretKey(key32(esk, 'ephemeral secret key'))
      : nacl.box.keyPair();
    var nonces = keyNonces || pks.map(function () { return nacl.randomBytes(24); });
    if (nonces.length !== pks.length) fail('There must be one 24-byte key nonce per recipient.');
    var keys = pks.map(function (pk, i) {
      if (!isBytes(nonces[i]) || nonces[i].length !== 24) fail('Each key nonce must be 24 bytes.');
      var wk = nacl.box(k, nonces[i], pk, eph.secretKey);
      return { kid: kid(pk), nonce: b64encode(nonces[i]), wk: b64encode(wk) };
    });
    return { v: VERSION, epk: b64encode(eph.publicKey), kc: b64encode(commit(k)), keys: keys };
  }

  function unwrapKey(p, sk) {
    key32(sk, 'secret key');
    var mine = kid(nacl.box.keyPair.fromSecretKey(sk).publicKey);
    var shared = nacl.box.before(p.epk, sk);
    var ordered = p.keys.filter(function (w) { return w.kid === mine; })
      .concat(p.keys.filter(function (w) { return w.kid !== mine; }));
    for (var i = 0; i < ordered.length; i++) {
      var k = nacl.box.open.after(ordered[i].wk, ordered[i].nonce, shared);
      if (k) {
        if (!equal(commit(k), p.kc)) fail('The key commitment does not match.');
        return k;
      }
    }
    if (ordered.length && ordered[0].kid === mine) {
      fail('The wrapped key for this recipient is damaged.');
    }
    return fail('This key is not a recipient of the envelope.', 'NotARecipient');
  }

  /** Pad and seal bytes; opts {k, nonce, esk, keyNonces} exist only for the vectors. */
  function sealBytes(data, pks, opts) {
    opts = opts || {};
    if (!isBytes(data)) fail('The data to seal must be bytes.');
    var k = opts.k ? key32(opts.k, 'content key') : nacl.randomBytes(32);
    var nonce = opts.nonce || nacl.randomBytes(24);
    if (!isBytes(nonce) || nonce.length !== 24) fail('The nonce must be 24 bytes.');
    var head = wrapKey(k, pks, opts.esk, opts.keyNonces);
    return {
      v: head.v, epk: head.epk, nonce: b64encode(nonce), kc: head.kc,
      ct: b64encode(nacl.secretbox(pad(data), nonce, k)), keys: head.keys
    };
  }

  // NaN and Infinity have no JSON spelling (JSON.stringify would write null): refused, as
  // json.dumps(allow_nan=False) refuses them in Python. The replacer returns every value as it
  // is, so what is written does not change.
  // A lone surrogate (half of an emoji, say) has no UTF-8 spelling: refused, as Python's
  // UTF-8 encoder refuses it, rather than written as a \ud83d escape.
  var LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  function finiteOnly(key, value) {
    if ((typeof value === 'number' || value instanceof Number) && !isFinite(value)) {
      throw new RangeError('not a finite number');
    }
    if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) {
      throw new RangeError('not well-formed text');
    }
    return value;
  }

  /** Seal a JSON object (compact, UTF-8) to every recipient public key (Uint8Array). */
  function seal(payload, pks, opts) {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      fail('The payload must be a JSON object.');
    }
    var text;
    try {
      text = JSON.stringify(payload, finiteOnly);
    } catch (e) {  // NaN or Infinity, a cycle, a BigInt, too deep: as Python's TypeError/ValueError
      fail('The payload cannot be written as JSON.');
    }
    return sealBytes(encoder.encode(text), pks, opts);
  }

  function openBytes(env, sk) {
    var p = parse(env);
    var k = unwrapKey(p, sk);
    var padded = nacl.secretbox.open(p.ct, p.nonce, k);
    if (!padded) fail('The envelope ciphertext is damaged.');
    return unpad(padded);
  }

  /** Open an envelope with one recipient's secret key; returns the JSON object or throws. */
  function open(env, sk) {
    var data = openBytes(env, sk), payload;
    try {
      payload = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data));
    } catch (e) {
      fail('The envelope content is not valid JSON.');
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      fail('The envelope content is not a JSON object.');
    }
    return payload;
  }

  /** Re-wrap for key rotation (see add_recipient in reporter/envelope.py): a holder of the
   *  content key adds a wrapped key for a new recipient whose secret key she holds. */
  function addRecipient(env, holderSk, newSk) {
    var p = (env && typeof env === 'object' && 'base' in env) ? parseAttachment(env) : parse(env);
    var k = unwrapKey(p, holderSk);
    var pair = nacl.box.keyPair.fromSecretKey(key32(newSk, 'new secret key'));
    var newKid = kid(pair.publicKey);
    if (env.keys.some(function (w) { return w.kid === newKid; })) return env;
    if (env.keys.length >= MAX_RECIPIENTS) fail('An envelope can have at most ' + MAX_RECIPIENTS + ' recipients.');
    var n = nacl.randomBytes(24);
    var out = {};
    Object.keys(env).forEach(function (key) { out[key] = env[key]; });
    out.keys = env.keys.concat([{ kid: newKid, nonce: b64encode(n), wk: b64encode(nacl.box(k, n, p.epk, pair.secretKey)) }]);
    return out;
  }

  // -- attachments: fixed-size chunks under one key (format in docs/envelope.md) ---------------

  function chunkNonce(base, index, last) {
    return concat([base, u32(index), u32(last ? 1 : 0)]);
  }

  function checkChunkSize(chunk) {
    if (!Number.isInteger(chunk) || chunk < MIN_CHUNK || chunk > MAX_CHUNK ||
        (chunk & (chunk - 1))) {
      fail('The attachment chunk size must be a power of two, 1 KiB to 1 MiB.');
    }
    return chunk;
  }

  /** Seal an attachment as it streams in: header(), then update(bytes)* and finish() once. */
  function AttachmentSealer(pks, chunkSize, opts) {
    opts = opts || {};
    this._chunk = checkChunkSize(chunkSize == null ? CHUNK_SIZE : chunkSize);
    this._k = opts.k ? key32(opts.k, 'content key') : nacl.randomBytes(32);
    this._base = opts.base || nacl.randomBytes(BASE_BYTES);
    if (!isBytes(this._base) || this._base.length !== BASE_BYTES) {
      fail('The nonce base must be 16 bytes.');
    }
    var head = wrapKey(this._k, pks);
    this._header = {
      v: head.v, epk: head.epk, kc: head.kc, keys: head.keys,
      base: b64encode(this._base), chunk: this._chunk
    };
    this._plain = new Uint8Array(this._chunk);
    this._fill = 0;
    this._index = 0;
    this._done = false;
  }

  AttachmentSealer.prototype.header = function () {
    return JSON.parse(JSON.stringify(this._header));
  };

  AttachmentSealer.prototype.update = function (data) {
    if (this._done) fail('The attachment is already finished.');
    if (!isBytes(data)) fail('The attachment data must be bytes.');
    var cap = this._chunk - 4, out = [], pos = 0, n;
    while (pos < data.length) {
      // A full chunk is sealed only once more data follows, so finish() always has one.
      if (this._fill === cap) out.push(this._seal(false));
      n = Math.min(cap - this._fill, data.length - pos);
      this._plain.set(data.subarray(pos, pos + n), 4 + this._fill);
      this._fill += n;
      pos += n;
    }
    return concat(out);
  };

  AttachmentSealer.prototype.finish = function () {
    if (this._done) fail('The attachment is already finished.');
    this._done = true;
    return this._seal(true);
  };

  AttachmentSealer.prototype._seal = function (last) {
    if (this._index > 0xffffffff) fail('The attachment is too large.');
    this._plain.fill(0, 4 + this._fill);
    this._plain.set(u32(this._fill), 0);
    var sealed = nacl.secretbox(this._plain, chunkNonce(this._base, this._index, last), this._k);
    this._index += 1;
    this._fill = 0;
    return sealed;
  };

  /** Seal a whole attachment (Uint8Array); returns {header, body: Uint8Array}. */
  function sealAttachment(bytes, pks, chunkSize) {
    var s = new AttachmentSealer(pks, chunkSize);
    var body = concat([s.update(bytes), s.finish()]);
    return { header: s.header(), body: body };
  }

  function parseAttachment(header, requiredKids, opts) {
    var max = (opts && opts.maxRecipients) || MAX_RECIPIENTS;
    fields(header, ATT_FIELDS, 'attachment header');
    var base = b64decode(header.base, BASE_BYTES, "attachment header field 'base'");
    var chunk = checkChunkSize(header.chunk);
    var p = parseCommon(header, requiredKids, max, 'attachment header');
    p.base = base;
    p.chunk = chunk;
    return p;
  }

  /** Check an attachment header (and body length when opts.bodyLength is given). */
  function validateAttachmentHeader(header, requiredKids, opts) {
    var p = parseAttachment(header, requiredKids, opts), len = opts && opts.bodyLength;
    if (len != null && (len <= 0 || len % (p.chunk + MAC))) {
      fail('The attachment body has an invalid length.');
    }
    return header;
  }

  /** Open a sealed attachment; refuses truncation, reordering and extra data. */
  function openAttachment(header, body, sk) {
    var p = parseAttachment(header), size = p.chunk + MAC, cap = p.chunk - 4;
    if (!isBytes(body) || !body.length || body.length % size) {
      fail('The attachment body has an invalid length.');
    }
    var count = body.length / size, k, out = [], i, last, sealed, plain, n;
    // A chunk's index is a u32 in its nonce (as in Python's open_attachment).
    if (count > 0xffffffff) fail('The attachment is too large.');
    k = unwrapKey(p, sk);
    for (i = 0; i < count; i++) {
      last = i === count - 1;
      sealed = body.subarray(i * size, (i + 1) * size);
      plain = nacl.secretbox.open(sealed, chunkNonce(p.base, i, last), k);
      if (!plain) {
        if (!nacl.secretbox.open(sealed, chunkNonce(p.base, i, !last), k)) {
          fail('The attachment is damaged or its chunks are out of order.');
        }
        fail(last ? 'The attachment is truncated.'
          : 'The attachment has data after its last chunk.');
      }
      n = readU32(plain, 0);
      if (n > cap || (!last && n !== cap) || !allZero(plain.subarray(4 + n))) {
        fail('An attachment chunk has invalid padding.');
      }
      out.push(plain.subarray(4, 4 + n));
    }
    return concat(out);
  }

  // -- staff key wrap (WebCrypto PBKDF2: HTTPS, .onion and localhost only) ----------------------

  function kek(passphrase, salt, iterations) {
    // Called inside .then() callbacks, so fail() becomes a rejection.
    var subtle = typeof crypto !== 'undefined' && crypto.subtle;
    if (!subtle) fail('Unlocking keys needs a secure connection (HTTPS or .onion).');
    if (typeof passphrase !== 'string') fail('The passphrase must be text.');
    var secret = encoder.encode(passphrase.normalize('NFC'));
    return subtle.importKey('raw', secret, 'PBKDF2', false, ['deriveBits'])
      .then(function (base) {
        var params = { name: 'PBKDF2', salt: salt, iterations: iterations, hash: 'SHA-256' };
        return subtle.deriveBits(params, base, 256);
      })
      .then(function (bits) { return new Uint8Array(bits); });
  }

  function checkIterations(value) {
    if (!Number.isInteger(value) || value < MIN_ITER || value > MAX_ITER) {
      fail('The key wrap has an unsupported iteration count.');
    }
    return value;
  }

  /** Wrap a staff secret key under a passphrase; resolves to the wrap object. */
  function wrapSecretKey(sk, passphrase, iterations, opts) {
    return Promise.resolve().then(function () {
      opts = opts || {};
      key32(sk, 'secret key');
      if (!passphrase) fail('The passphrase must not be empty.');
      var iter = checkIterations(iterations == null ? ITERATIONS : iterations);
      var salt = opts.salt || nacl.randomBytes(16), nonce = opts.nonce || nacl.randomBytes(24);
      if (!isBytes(salt) || salt.length !== 16 || !isBytes(nonce) || nonce.length !== 24) {
        fail('The salt must be 16 bytes and the nonce 24 bytes.');
      }
      return kek(passphrase, salt, iter).then(function (key) {
        return {
          v: VERSION, kdf: KDF, iter: iter, salt: b64encode(salt), nonce: b64encode(nonce),
          wsk: b64encode(nacl.secretbox(sk, nonce, key)),
          kid: kid(nacl.box.keyPair.fromSecretKey(sk).publicKey)
        };
      });
    });
  }

  /** Recover a staff secret key; a wrong passphrase and a damaged wrap reject alike. */
  function unwrapSecretKey(wrap, passphrase) {
    return Promise.resolve().then(function () {
      fields(wrap, WRAP_FIELDS, 'key wrap');
      if (wrap.kdf !== KDF) fail('The key wrap uses an unsupported key derivation.');
      var iter = checkIterations(wrap.iter);
      var salt = b64decode(wrap.salt, 16, "key wrap field 'salt'");
      var nonce = b64decode(wrap.nonce, 24, "key wrap field 'nonce'");
      var wsk = b64decode(wrap.wsk, 48, "key wrap field 'wsk'");
      var expected = checkKid(wrap.kid, 'key wrap');
      return kek(passphrase, salt, iter).then(function (key) {
        var sk = nacl.secretbox.open(wsk, nonce, key);
        if (!sk || kid(nacl.box.keyPair.fromSecretKey(sk).publicKey) !== expected) {
          fail('Wrong passphrase or damaged key.');
        }
        return sk;
      });
    });
  }

  return {
    VERSION: VERSION, MAX_PADDED: MAX_PADDED, CHUNK_SIZE: CHUNK_SIZE,
    seal: seal, sealBytes: sealBytes, open: open, openBytes: openBytes, validate: validate,
    kid: kid, pad: pad, unpad: unpad, bucket: bucket, b64encode: b64encode, b64decode: b64decode,
    AttachmentSealer: AttachmentSealer, sealAttachment: sealAttachment,
    openAttachment: openAttachment, validateAttachmentHeader: validateAttachmentHeader,
    wrapSecretKey: wrapSecretKey, unwrapSecretKey: unwrapSecretKey, addRecipient: addRecipient
  };
});

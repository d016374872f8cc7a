// The report payload (docs/payload.md), the twin of reporter/payload.py: same checks in the same
// order, same refusal reasons (tests/data/payload-v1.json). vocab: {categories, perpetrators, provinces}.
(function (root) {
  "use strict";
  var FIELDS = ["v", "categories", "perpetrators", "when", "province", "place", "pin", "narrative",
    "perpetrator_details", "consent", "attachments", "language", "pad"];
  var OPTIONAL = ["channel", "source", "callback"];
  var CHANNELS = ["web-js", "web-nojs", "ussd", "sms", "helpline", "outreach", "meeting", "walk-in"];
  var SOURCES = ["helpline", "outreach", "meeting", "walk-in"];
  var FLOOR = 4096 - 4;

  function Invalid(reason, detail) {
    var e = new Error(detail ? reason + ": " + detail : reason);
    e.name = "PayloadInvalid"; e.reason = reason; e.detail = detail || "";
    return e;
  }
  function has(list, x) { return list.indexOf(x) >= 0; }
  function isObj(x) { return x !== null && typeof x === "object" && !Array.isArray(x); }
  function isInt(x) { return typeof x === "number" && Number.isInteger(x); }
  function own(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
  // Python's len(): code points, not UTF-16 units
  function len(s) { var n = s.length, m = s.match(/[\ud800-\udbff][\udc00-\udfff]/g); return m ? n - m.length : n; }
  function size(p) { return new TextEncoder().encode(JSON.stringify(p)).length; }

  function withFloor(p) {
    var out = {}, k;
    for (k in p) if (own(p, k) && k !== "pad") out[k] = p[k];
    out.pad = "";
    out.pad = new Array(Math.max(0, FLOOR - size(out)) + 1).join(" ");
    return out;
  }

  function keys(o, reason, required, optional) {
    if (!isObj(o)) throw Invalid(reason, "not an object");
    var missing = required.filter(function (k) { return !own(o, k); });
    var extra = Object.keys(o).filter(function (k) { return !has(required, k) && !has(optional || [], k); });
    if (missing.length) throw Invalid(reason, "missing " + missing.join(", "));
    if (extra.length) throw Invalid(reason, "unknown " + extra.join(", "));
    return o;
  }
  function optText(v, limit) { return v === null || (typeof v === "string" && len(v) > 0 && len(v) <= limit); }
  function terms(v, allowed, reason) {
    if (!Array.isArray(v) || !v.every(function (x) { return typeof x === "string"; })) throw Invalid(reason);
    if (v.some(function (x, i) { return v.indexOf(x) !== i; })) throw Invalid(reason, "repeated");
    if (v.some(function (x) { return !has(allowed, x); })) throw Invalid(reason, "unknown");
  }
  function when(v) {
    var w = keys(v, "when", ["year", "month", "day"]), y = w.year, m = w.month, d = w.day;
    if (!isInt(y) || y < 1990 || y > 2100) throw Invalid("when", "year");
    if (m !== null && (!isInt(m) || m < 1 || m > 12)) throw Invalid("when", "month");
    if (d !== null) {
      if (!isInt(d) || m === null) throw Invalid("when", "day");
      var date = new Date(Date.UTC(y, m - 1, d));
      if (d < 1 || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) throw Invalid("when", "day");
    }
  }
  function place(v) {
    var p = keys(v, "place", ["town_id", "town", "text"]);
    if (p.town_id !== null && (!isInt(p.town_id) || p.town_id < 0)) throw Invalid("place", "town_id");
    if ((p.town_id === null) !== (p.town === null) || !optText(p.town, 200)) throw Invalid("place", "town");
    if (!optText(p.text, 200)) throw Invalid("place", "text");
  }
  function pin(v) {
    if (v === null) return;
    var p = keys(v, "pin", ["lat", "lon"]);
    [[p.lat, 90], [p.lon, 180]].forEach(function (c) {
      if (typeof c[0] !== "number" || !(c[0] >= -c[1] && c[0] <= c[1])) throw Invalid("pin");
    });
  }
  function attachments(v) {
    if (!Array.isArray(v) || v.length > 50) throw Invalid("attachments", "a list");
    v.forEach(function (a, i) {
      a = keys(a, "attachments", ["index", "name", "type", "size", "kc", "metadata_removed"]);
      var ok = isInt(a.index) && a.index === i &&
        typeof a.name === "string" && len(a.name) > 0 && len(a.name) <= 100 &&
        typeof a.type === "string" && len(a.type) <= 100 &&
        isInt(a.size) && a.size >= 0 &&
        typeof a.kc === "string" && /^[A-Za-z0-9+/]{43}=$/.test(a.kc) &&
        typeof a.metadata_removed === "boolean";
      if (!ok) throw Invalid("attachments", "entry " + i);
    });
  }

  function check(p, vocab) {
    if (!isObj(p)) throw Invalid("not_object");
    if (!isInt(p.v) || p.v !== 1) throw Invalid("version");
    var extra = Object.keys(p).filter(function (k) { return !has(FIELDS, k) && !has(OPTIONAL, k); });
    if (extra.length) throw Invalid("unknown_field", extra.join(", "));
    var missing = FIELDS.filter(function (k) { return !own(p, k); });
    if (missing.length) throw Invalid("missing_field", missing.join(", "));
    terms(p.categories, vocab.categories, "categories");
    terms(p.perpetrators, vocab.perpetrators, "perpetrators");
    when(p.when);
    if (!has(vocab.provinces, p.province)) throw Invalid("province");
    place(p.place);
    pin(p.pin);
    if (typeof p.narrative !== "string" || len(p.narrative) > 20000) throw Invalid("narrative");
    if (typeof p.perpetrator_details !== "string" || len(p.perpetrator_details) > 2000) throw Invalid("perpetrator_details");
    var c = keys(p.consent, "consent", ["contact", "legal"]);
    if (typeof c.contact !== "boolean" || typeof c.legal !== "boolean") throw Invalid("consent");
    attachments(p.attachments);
    if (typeof p.language !== "string" || !/^[a-z]{2,3}$/.test(p.language)) throw Invalid("language");
    if (typeof p.pad !== "string" || /[^ ]/.test(p.pad)) throw Invalid("pad");
    var ch = own(p, "channel") ? p.channel : null;
    if (own(p, "channel") && !has(CHANNELS, ch)) throw Invalid("channel");
    if (own(p, "source")) {
      if (!has(SOURCES, p.source)) throw Invalid("source");
      if (ch !== null && !has(SOURCES, ch)) throw Invalid("source", "staff only");
    }
    if (own(p, "callback")) {
      var cb = keys(p.callback, "callback", ["phone"]);
      if (typeof cb.phone !== "string" || !/^\+[1-9][0-9]{7,14}$/.test(cb.phone)) throw Invalid("callback");
    }
    return p;
  }

  // f: {categories, perpetrators, year, month, day, province, town_id, town, place_text, pin,
  // narrative, perpetrator_details, consent_contact, consent_legal, attachments, language,
  // channel, source, callback_phone}, as reporter.payload.make_payload takes them
  function make(f, vocab) {
    var text = (f.place_text || "").trim() || null;
    var p = {
      v: 1, categories: (f.categories || []).slice(), perpetrators: (f.perpetrators || []).slice(),
      when: { year: f.year, month: f.month || null, day: f.day == null ? null : f.day },
      province: f.province,
      place: { town_id: f.town_id == null ? null : f.town_id, town: f.town == null ? null : f.town, text: text },
      pin: f.pin ? { lat: f.pin.lat, lon: f.pin.lon } : null,
      narrative: f.narrative, perpetrator_details: f.perpetrator_details || "",
      consent: { contact: !!f.consent_contact, legal: !!f.consent_legal },
      attachments: (f.attachments || []).map(function (a) { return Object.assign({}, a); }),
      language: f.language || "en"
    };
    if (f.channel != null) p.channel = f.channel;
    if (f.source != null) p.source = f.source;
    if (f.callback_phone != null) p.callback = { phone: f.callback_phone };
    return check(withFloor(p), vocab);
  }

  // The vocabulary a form offers: its checkboxes and its province list.
  // An attachment's name and type as the payload keeps them (the Python twin:
  // domain/payload.py attachment_name, attachment_type): the last path component, printable
  // characters only (Python's str.isprintable), no leading or trailing dots or spaces, the
  // first 100 characters (code points, not UTF-16 units); "attachment" when nothing is left.
  var UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]|(?! )\p{Zs}/u;
  function attachmentName(name) {
    var parts = String(name || "").replace(/\\/g, "/").split("/");
    var kept = Array.from(parts[parts.length - 1]).filter(function (ch) { return !UNPRINTABLE.test(ch); });
    var base = kept.join("").replace(/^[. ]+|[. ]+$/g, "");
    return Array.from(base).slice(0, 100).join("") || "attachment";
  }
  function attachmentType(kind) {
    return Array.from(String(kind || "").trim().toLowerCase()).slice(0, 100).join("");
  }

  function vocabularyOf(form) {
    function values(sel) { return Array.prototype.map.call(form.querySelectorAll(sel), function (el) { return el.value; }).filter(Boolean); }
    return { categories: values("input[name=categories]"), perpetrators: values("input[name=perpetrators]"),
             provinces: values("select[name=province] option") };
  }

  var api = { make: make, check: check, withFloor: withFloor, compactSize: size, vocabularyOf: vocabularyOf,
              attachmentName: attachmentName, attachmentType: attachmentType,
              FLOOR: FLOOR, CHANNELS: CHANNELS, SOURCES: SOURCES };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.ReporterPayload = api;
})(this);

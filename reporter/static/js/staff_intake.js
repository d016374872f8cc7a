// A report taken by staff for someone else (verify/intake.html): built through payload.js (the
// twin of reporter/payload.py) with the source as its channel, sealed in this browser to the
// province's case key, the national key and the recovery key from /keys.json (as report.js
// does for a reporter), sent as envelopes only; the receipt comes back once, for the card.
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  var E = window.ReporterEnvelope, P = window.ReporterPayload;
  if (!form || !E || !P) return;
  var msg = document.getElementById("intake-messages").dataset;
  var status = document.getElementById("intake-status");
  var send = document.getElementById("intake-send");
  var card = document.getElementById("receipt-card");
  var csrf = document.querySelector("meta[name=csrf-token]");
  var keys = fetch("/keys.json", { credentials: "same-origin" }).then(function (r) {
    if (!r.ok) throw new Error("keys");
    return r.json();
  });
  var busy = false;

  function say(text, bad) { status.textContent = text; status.className = bad ? "error" : "notice"; }
  function val(name) { var el = form.elements[name]; return (el && el.value) || ""; }
  function checked(name) {
    return Array.prototype.map.call(form.querySelectorAll("input[name=" + name + "]:checked"), function (el) { return el.value; });
  }
  function problem() {
    var town = form.elements.town, opt = town.options[town.selectedIndex];
    if (!val("source") && !checked("source").length) return [msg.source, "source"];
    if (!form.elements.agreed.checked) return [msg.agreed, "agreed"];
    if (!checked("categories").length) return [msg.category, "categories"];
    if (!checked("perpetrators").length) return [msg.perpetrator, "perpetrators"];
    if (!val("province")) return [msg.province, "province"];
    if (town.value && opt.dataset.province !== val("province")) return [msg.town, "town"];
    if (!val("narrative").trim()) return [msg.narrative, "narrative"];
    var phone = val("callback").replace(/[\s-]/g, "");
    if (phone && !/^\+[1-9][0-9]{7,14}$/.test(phone)) return [msg.callback, "callback"];
    return null;
  }
  function files() { return Array.prototype.slice.call(form.elements.attachments.files || []); }
  function bytesOf(file) { return file.arrayBuffer().then(function (b) { return new Uint8Array(b); }); }

  function seal(k) {
    var province = val("province"), source = checked("source")[0];
    var pks = [k.national, k.provinces[province], k.recovery].map(function (e) { return E.b64decode(e.pk, 32); });
    return Promise.all(files().map(bytesOf)).then(function (contents) {
      var sealed = contents.map(function (b) { return E.sealAttachment(b, pks); });
      var town = form.elements.town, day = parseInt(val("day"), 10), phone = val("callback").replace(/[\s-]/g, "");
      var payload = P.make({
        categories: checked("categories"), perpetrators: checked("perpetrators"),
        year: parseInt(val("year"), 10), month: parseInt(val("month"), 10) || null, day: isNaN(day) ? null : day,
        province: province, town_id: town.value ? parseInt(town.value, 10) : null,
        town: town.value ? town.options[town.selectedIndex].textContent : null,
        place_text: val("place"), pin: null, narrative: val("narrative"), perpetrator_details: val("perpetrator_details"),
        consent_contact: form.elements.consent_contact.checked, consent_legal: form.elements.consent_legal.checked,
        attachments: files().map(function (f, i) {
          return { index: i, name: P.attachmentName(f.name), type: P.attachmentType(f.type),
                   size: contents[i].length, kc: sealed[i].header.kc, metadata_removed: false };
        }),
        language: val("language") || "en", channel: source, source: source, callback_phone: phone || null
      }, P.vocabularyOf(form));
      var data = new FormData();
      data.append("form_id", val("form_id"));
      data.append("source", source);
      data.append("province", province);
      data.append("envelope", JSON.stringify(E.seal(payload, pks)));
      data.append("attachment_headers", JSON.stringify(sealed.map(function (s) { return s.header; })));
      sealed.forEach(function (s, i) { data.append("attachment", new Blob([s.body]), "sealed-" + i + ".bin"); });
      return data;
    });
  }

  function answer(r) {
    return r.json().then(function (j) {
      if (j.form_id) form.elements.form_id.value = j.form_id;  // single use: the next report gets its own
      if (j.csrf_token && csrf) csrf.content = j.csrf_token;
      if (!r.ok || !j.receipt) throw { text: msg.refused + " " + (j.error || r.status) };
      form.reset();
      say("", false);
      document.getElementById("card-receipt").textContent = j.receipt;
      card.hidden = false;
      form.hidden = true;
      card.scrollIntoView({ block: "start" });
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) return;  // a double click files once (and the form id makes a resend the same report)
    var bad = problem();
    if (bad) { say(bad[0], true); var el = document.getElementById(bad[1]); if (el && el.focus) el.focus(); return; }
    busy = true; send.disabled = true;
    say(msg.locking, false);
    keys.then(seal).then(function (data) {
      say(msg.sending, false);
      return fetch(form.action || location.pathname, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf ? csrf.content : "", Accept: "application/json" }
      }).catch(function () { throw { text: msg.network }; }).then(answer);
    }).catch(function (err) {
      say(err && err.text ? err.text : msg.failed, true);
    }).then(function () { busy = false; send.disabled = false; });
  });

  var withAddress = document.getElementById("card-with-address");
  withAddress.addEventListener("change", function () { document.getElementById("card-address").hidden = !withAddress.checked; });
  document.getElementById("card-print").addEventListener("click", function () { window.print(); });
  document.getElementById("card-done").addEventListener("click", function () {
    document.getElementById("card-receipt").textContent = "";  // the number leaves the screen
    card.hidden = true;
    form.hidden = false;
    window.scrollTo(0, 0);
  });
})();

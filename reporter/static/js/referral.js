// Referral to a partner organisation (issue 17, docs/partners.md), all in this browser:
// - an admin makes a partner organisation's key pair (secret sealed to the recovery key and
//   granted to herself);
// - a moderator refers an opened report, only when the reporter's consent says the legal
//   partner may see it: a fresh referral key pair, one wrapped key for it added to the report's
//   envelope and to each file header (ReporterEnvelope.addRecipient), its secret sealed to the
//   organisation's public key;
// - a partner's staff member opens the referral key with her organisation's key (granted to her
//   like a case key) and reads the report and its files.
(function () {
  "use strict";
  var E = window.ReporterEnvelope, S = window.ReporterStaff;
  if (!E || !S) return;
  function $(id) { return document.getElementById(id); }
  function text(el, value) { if (el) el.textContent = value == null ? "" : String(value); }

  // ---- admin: a new partner organisation ------------------------------------------------
  var orgForm = $("partner-form");
  if (orgForm) {
    orgForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var name = $("partner-name").value.trim();
      if (!orgForm.dataset.recovery || !orgForm.dataset.me) { text($("partner-status"), "Set up your key first (and run keys init)."); return; }
      var pair = window.nacl.box.keyPair();
      var secret = { scope: "partner", name: name, sk: E.b64encode(pair.secretKey) };
      S.postJSON(orgForm.dataset.url, {
        name: name, public_key: E.b64encode(pair.publicKey),
        sealed_secret: E.seal(secret, [E.b64decode(orgForm.dataset.recovery, 32)]),
        grant: E.seal(secret, [E.b64decode(orgForm.dataset.me, 32)])
      }).then(function () {
        window.sessionStorage.removeItem("staff.sk");  // unlock again to hold the new key
        window.location.assign(window.location.pathname + "?done=" + encodeURIComponent("organisation added: unlock again to grant its key"));
      }).catch(function (err) { text($("partner-status"), err.message); });
    });
  }

  // ---- moderator: refer the opened report --------------------------------------------------
  var refView = $("referral-view");
  if (refView) document.addEventListener("staff:report-opened", function (ev) {
    var opened = ev.detail, consent = (opened.payload && opened.payload.consent) || {};
    var form = $("refer-form"), state = $("referral-state");
    if (consent.legal !== true) {
      form.hidden = true;
      text(state, "The reporter did not agree that the legal partner may see this report, so it cannot be referred. Ask her in her inbox first.");
      return;
    }
    S.getJSON(refView.dataset.url).then(function (info) {
      var select = $("refer-partner");
      select.textContent = "";
      var referred = info.referrals.map(function (r) { return r.partner_id; });
      info.partners.filter(function (o) { return referred.indexOf(o.id) < 0; }).forEach(function (o) {
        var opt = document.createElement("option");
        opt.value = String(o.id); text(opt, o.name);
        select.appendChild(opt);
      });
      if (!select.options.length) {
        text(state, info.partners.length ? "Referred to every partner organisation." : "No partner organisation is set up yet.");
        return;
      }
      text(state, "The reporter agreed that the legal partner may see this report.");
      form.hidden = false;
      form.onsubmit = function (e) {
        e.preventDefault();
        var org = info.partners.filter(function (o) { return String(o.id) === select.value; })[0];
        if (!org) return;
        text($("refer-status"), "Re-sealing…");
        // fetch the envelopes again right before sealing: a re-wrap may have changed them
        S.getJSON(refView.dataset.url + "?items=1").then(function (fresh) {
          var pair = window.nacl.box.keyPair();
          var items = fresh.items.map(function (it) {
            var holder = S.keyFor(it.env) || opened.holder;
            return { kind: it.kind, id: it.id, env: E.addRecipient(it.env, holder, pair.secretKey) };
          });
          var sealed = E.seal({ v: 1, report: refView.dataset.report, sk: E.b64encode(pair.secretKey) },
            [E.b64decode(org.pk, 32)]);
          return S.postJSON(refView.dataset.referUrl, {
            partner_id: org.id, consent: { legal: true }, public_key: E.b64encode(pair.publicKey),
            sealed_key: sealed, items: items
          });
        }).then(function (res) {
          window.location.assign(window.location.pathname + "?done=" + encodeURIComponent(res.message));
        }).catch(function (err) { text($("refer-status"), err.message); });
      };
    }).catch(function (err) { text(state, err.message); });
  });

  // ---- outcomes of a verified report: details sealed here to the case keys -------------------
  var outView = $("outcomes-view");
  if (outView) document.addEventListener("staff:report-opened", function (ev) {
    var data = ev.detail.data;
    Array.prototype.forEach.call(outView.querySelectorAll("li[data-sealed]"), function (li) {
      if (!li.dataset.sealed) return;
      var env = JSON.parse(li.dataset.sealed), sk = S.keyFor(env), span = li.querySelector(".outcome-details");
      if (!sk || !span) return;
      try { text(span, E.open(env, sk).text); span.className = "outcome-details"; } catch (e) { text(span, "(damaged details)"); }
    });
    var form = $("outcome-form");
    if (!form) return;
    form.hidden = false;
    form.onsubmit = function (e) {
      e.preventDefault();
      var details = $("outcome-details").value.trim(), r = data.recipients;
      var body = { outcome: $("outcome-code").value, month: $("outcome-month").value.trim() };
      if (details) {
        body.sealed_details = E.seal({ v: 1, text: details }, [r.national.pk, r.province.pk, r.recovery.pk].map(function (k) { return E.b64decode(k, 32); }));
      }
      S.postJSON(outView.dataset.url, body).then(function (res) {
        $("outcome-details").value = "";
        window.location.assign(window.location.pathname + "?done=" + encodeURIComponent(res.message));
      }).catch(function (err) { text($("outcome-status"), err.message); });
    };
  });

  // ---- partner: read a referred report ------------------------------------------------------
  var view = $("partner-view");
  function listOf(el, kind, codes) {
    el.textContent = "";
    [].concat(codes || []).forEach(function (code) {
      var li = document.createElement("li");
      text(li, S.label(kind, code));
      el.appendChild(li);
    });
  }
  function openFile(a, meta, sk, li) {
    fetch(view.dataset.url.replace(/\/data$/, "/attachments/" + a.id), { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("The server said " + r.status + ": this file can no longer be opened.");
        return r.arrayBuffer();
      }).then(function (buf) {
        if (meta.kc && meta.kc !== a.header.kc) throw new Error("This file does not belong to this report.");
        var bytes = E.openAttachment(a.header, new Uint8Array(buf), sk);
        var url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
        var link = document.createElement("a");
        link.href = url; link.download = meta.name || "file"; link.className = "saved-file";
        text(link, "Save " + (meta.name || "file"));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(link);
      }).catch(function (err) {
        var note = document.createElement("span"); note.className = "file-error";
        text(note, " " + err.message);
        li.appendChild(note);
      });
  }
  var retried = false;
  function showReferred() {
    S.getJSON(view.dataset.url).then(function (data) {
      if (!data.envelope) { text($("report-state"), "This report's content was deleted."); return; }
      var orgKey = S.keyFor(data.referral.sealed);
      if (!orgKey && !retried) {
        // a key granted since she last unlocked: unlock once more to pick it up
        retried = true;
        window.sessionStorage.removeItem("staff.sk");
        text($("report-state"), "Unlock to use the keys granted to you.");
        S.whenUnlocked(showReferred);
        return;
      }
      if (!orgKey) { text($("report-state"), "You hold no key of your organisation yet. Ask the Sisonke admin to grant it."); return; }
      var sk = E.b64decode(E.open(data.referral.sealed, orgKey).sk, 32);
      var p = E.open(data.envelope, sk);
      listOf($("f-categories"), "categories", p.categories);
      listOf($("f-perpetrators"), "perpetrators", p.perpetrators);
      text($("f-when"), S.when(p.when));
      var place = p.place || {};
      text($("f-place"), [place.town, place.text].filter(Boolean).join(" · "));
      text($("f-narrative"), p.narrative);
      text($("f-details"), p.perpetrator_details);
      var c = p.consent || {};
      text($("f-consent"), c.legal ? "The reporter agreed that the legal partner may see it." : "(no consent recorded)");
      var list = $("f-files");
      list.textContent = "";
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
      $("report-fields").hidden = false;
      text($("report-state"), "");
    }).catch(function (err) { text($("report-state"), "Could not open this report: " + err.message); });
  }
  if (view) S.whenUnlocked(showReferred);
})();

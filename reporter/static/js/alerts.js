// Safety alerts, staff side (issue 16). On the report page: a link to draft an alert from the
// report she opened. On the draft page: the report is opened here, in her browser, with the case
// keys of this tab (as staff.js does); the words that must not appear in the alert (the exact
// place she gave, her pin, names she used for herself) are listed, and the draft cannot be sent
// while any of them is in it. Nothing of the report leaves this browser.
(function () {
  "use strict";
  var E = window.ReporterEnvelope;
  function $(id) { return document.getElementById(id); }
  function text(el, v) { if (el) el.textContent = v == null ? "" : String(v); }

  function caseKeys() {
    try { return JSON.parse(window.sessionStorage.getItem("staff.cases") || "{}"); } catch (e) { return {}; }
  }
  function keyFor(env) {
    var cases = caseKeys();
    for (var i = 0; i < (env.keys || []).length; i++) {
      var c = cases[env.keys[i].kid];
      if (c) return E.b64decode(c.sk, 32);
    }
    return null;
  }
  function fold(s) {
    return String(s || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  // Words of the report that identify her: the exact place (the whole text and its longer
  // words), the pin, and names she gave herself ("my name is ...", "I am ...", "call me ...")
  // or capitalised words of her story that are not about the offender (perpetrator details).
  var COMMON = ("they this that then there when what with from were have been into after " +
    "before police client said took money came told because where would could about " +
    "behind near outside next corner road street avenue house place").split(" ");
  function reporterWords(p) {
    var out = [];
    function add(w) {
      w = String(w || "").trim();
      if (w.length >= 3 && out.map(fold).indexOf(fold(w)) === -1) out.push(w);
    }
    var place = p.place || {};
    if (place.text) {
      add(place.text);
      place.text.split(/[\s,.;:()]+/).forEach(function (w) {
        if (w.length >= 4 && COMMON.indexOf(fold(w)) === -1) add(w);
      });
    }
    if (p.pin && p.pin.lat != null) { add(String(p.pin.lat)); add(String(p.pin.lon)); }
    var story = String(p.narrative || "");
    var about = fold(p.perpetrator_details || "");
    var named = /\b(?:my name is|i am|i'm|call me|they call me)\s+([A-Z][\w'-]+)/gi, m;
    while ((m = named.exec(story))) add(m[1]);
    story.split(/(?<=[.!?\n])\s*/).forEach(function (sentence) {
      sentence.split(/\s+/).slice(1).forEach(function (w) {
        var clean = w.replace(/[^\p{L}'-]/gu, "");
        if (/^\p{Lu}\p{Ll}{2,}/u.test(clean) && about.indexOf(fold(clean)) === -1 &&
            COMMON.indexOf(fold(clean)) === -1) add(clean);
      });
    });
    return out;
  }

  function found(words, fields) {
    var hay = fields.map(function (el) { return fold(el.value); }).join("\n");
    return words.filter(function (w) { return hay.indexOf(fold(w)) !== -1; });
  }

  function draftPage(view) {
    var form = $("draft-form"), warn = $("words-warning"), send = $("draft-submit");
    var fields = ["area", "description"].map($);
    var words = [];
    function recheck() {
      var hits = found(words, fields);
      warn.hidden = !hits.length;
      text(warn, hits.length ? "Remove the reporter's own words before saving: " + hits.join(", ") +
        ". An alert never names or describes her, or the exact place." : "");
      send.disabled = hits.length > 0;
      return hits;
    }
    fields.forEach(function (el) { el.addEventListener("input", recheck); });
    form.addEventListener("submit", function (ev) { if (recheck().length) ev.preventDefault(); });

    fetch(view.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("the server said " + r.status); return r.json(); })
      .then(function (data) {
        if (!data.envelope) throw new Error("its content was deleted after the retention period");
        var sk = keyFor(data.envelope);
        if (!sk) throw new Error("unlock your key on the report page first");
        var p = E.open(data.envelope, sk);
        words = reporterWords(p);
        var list = $("reporter-words");
        list.textContent = "";
        words.forEach(function (w) { var li = document.createElement("li"); text(li, w); list.appendChild(li); });
        if (!words.length) { var li = document.createElement("li"); li.className = "muted"; text(li, "None found; still check by eye."); list.appendChild(li); }
        $("reporter-words-box").hidden = false;
        // prefill what the alert may carry: the kind, the month, the town (never the exact place)
        var kind = form.elements.kind;
        if (!kind.value) {
          (p.categories || []).some(function (c) {
            var ok = Array.prototype.some.call(kind.options, function (o) { return o.value === c; });
            if (ok) kind.value = c;
            return ok;
          });
        }
        var w = p.when || {};
        if (!form.elements.month.value && Number.isInteger(w.year) && Number.isInteger(w.month)) {
          form.elements.month.value = w.year + "-" + String(w.month).padStart(2, "0");
        }
        if (!form.elements.area.value && p.place && p.place.town) form.elements.area.value = p.place.town;
        text($("draft-state"), "Report opened in your browser.");
        recheck();
      })
      .catch(function (err) { text($("draft-state"), "Could not open the report: " + err.message + "."); });
  }

  window.ReporterAlerts = {
    reportOpened: function () {
      var id = $("report-id"), view = $("report-view");
      if (!id || !view || $("draft-alert")) return;
      var a = document.createElement("a");
      a.id = "draft-alert"; a.className = "button";
      a.href = "/staff/alerts/new?report=" + encodeURIComponent(id.textContent.trim());
      text(a, "Draft a safety alert from this report");
      var p = document.createElement("p"); p.appendChild(a);
      view.insertBefore(p, view.firstChild);
    },
    reporterWords: reporterWords
  };
  var draft = $("draft-view");
  if (draft) draftPage(draft);
})();

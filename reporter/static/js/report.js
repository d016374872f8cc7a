// The report page's enhancement: seal the whole report (and its files) in this browser and
// post envelopes only. If sealing fails, say so and send nothing: never fall back silently
// to sending plaintext. Without JavaScript the plain form posts and the server seals it.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var E = window.ReporterEnvelope;
  if (!form || !E || !window.nacl || !window.crypto || !window.crypto.getRandomValues) return;
  document.documentElement.classList.add("has-js");
  var keys = JSON.parse(document.getElementById("reporter-keys").textContent);
  var msg = document.getElementById("js-messages").dataset;
  var status = document.getElementById("js-status");
  var pin = null;

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error js-only" : "notice js-only";
    status.setAttribute("role", isError ? "alert" : "status");
  }
  function checked(name) {
    return Array.prototype.slice.call(form.querySelectorAll("input[name=" + name + "]:checked"))
      .map(function (el) { return el.value; });
  }
  function val(name) { return (form.elements[name] && form.elements[name].value) || ""; }
  function pk(entry) { return E.b64decode(entry.pk, 32); }
  function townChoice() {
    var sel = form.elements.town;
    if (!sel || !sel.value) return null;
    var opt = sel.options[sel.selectedIndex];
    var group = opt.parentNode && opt.parentNode.label;
    return { id: parseInt(sel.value, 10), name: opt.textContent, group: group };
  }

  function check(files) {
    if (!checked("categories").length) return msg.needCategory;
    if (!checked("perpetrators").length) return msg.needPerpetrator;
    if (!keys.provinces[val("province")]) return msg.needProvince;
    if (!val("narrative").trim()) return msg.needNarrative;
    var prov = form.elements.province;
    var town = townChoice();
    if (town && town.group !== prov.options[prov.selectedIndex].textContent) return msg.townProvince;
    var max = parseInt(form.dataset.maxFiles, 10), maxBytes = parseInt(form.dataset.maxBytes, 10);
    if (files.length > max) return msg.tooMany;
    for (var i = 0; i < files.length; i++) {
      if (files[i].size > maxBytes) return msg.tooBig;
      if (!/^(image\/|audio\/|application\/pdf|video\/3gpp)/.test(files[i].type)) return msg.badType;
    }
    return null;
  }

  // Same floor as the server's: short and long reports seal to the same size.
  var FLOOR = 4096 - 4;
  function withFloor(payload) {
    payload.pad = "";
    var size = new TextEncoder().encode(JSON.stringify(payload)).length;
    payload.pad = new Array(Math.max(0, FLOOR - size) + 1).join(" ");
    return payload;
  }

  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var r = new FileReader();
      r.onload = function () { resolve(new Uint8Array(r.result)); };
      r.onerror = function () { reject(r.error); };
      r.readAsArrayBuffer(file);
    });
  }

  function seal(files) {
    var province = val("province");
    var recipients = [pk(keys.national), pk(keys.provinces[province]), pk(keys.recovery)];
    return Promise.all(files.map(readFile)).then(function (contents) {
      var sealedFiles = contents.map(function (bytes) { return E.sealAttachment(bytes, recipients); });
      var town = townChoice();
      var day = parseInt(val("day"), 10);
      var payload = {
        v: 1,
        categories: checked("categories"),
        perpetrators: checked("perpetrators"),
        when: { year: parseInt(val("year"), 10), month: parseInt(val("month"), 10), day: isNaN(day) ? null : day },
        province: province,
        place: { town_id: town ? town.id : null, town: town ? town.name : null, text: val("place").trim() || null },
        pin: pin,
        narrative: val("narrative"),
        perpetrator_details: val("perpetrator_details"),
        consent: { contact: form.elements.consent_contact.checked, legal: form.elements.consent_legal.checked },
        attachments: files.map(function (f, i) {
          return { index: i, name: f.name.slice(-100), type: f.type, size: f.size, kc: sealedFiles[i].header.kc };
        }),
        language: document.documentElement.lang || "en"
      };
      return { envelope: E.seal(withFloor(payload), recipients), files: sealedFiles, province: province };
    });
  }

  // Post only envelopes: a fresh form with the sealed fields, submitted natively so the
  // browser shows the receipt page as a normal navigation.
  function post(sealed) {
    var out = document.createElement("form");
    out.method = "post";
    out.action = form.action;
    out.enctype = "multipart/form-data";
    out.hidden = true;
    function add(name, value) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = value;
      out.appendChild(input);
    }
    add("csrf_token", val("csrf_token"));
    add("form_id", val("form_id"));
    add("sealed", "1");
    add("province", sealed.province);
    add("envelope", JSON.stringify(sealed.envelope));
    add("attachment_headers", JSON.stringify(sealed.files.map(function (f) { return f.header; })));
    if (sealed.files.length) {
      var dt = new DataTransfer();
      sealed.files.forEach(function (f, i) {
        dt.items.add(new File([f.body], "sealed-" + i + ".bin", { type: "application/octet-stream" }));
      });
      var input = document.createElement("input");
      input.type = "file"; input.name = "attachment"; input.multiple = true;
      input.files = dt.files;
      out.appendChild(input);
    }
    document.body.appendChild(out);
    out.submit();
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var files = Array.prototype.slice.call(form.elements.attachments.files || []);
    var problem = check(files);
    if (problem) { say(problem, true); return; }
    say(msg.locking, false);
    document.getElementById("send").disabled = true;
    seal(files).then(post).catch(function () {
      document.getElementById("send").disabled = false;
      say(msg.failed, true);
    });
  });

  // Optional map pin: Leaflet is loaded only when asked for (page weight on 2G).
  var open = document.getElementById("pin-open");
  var box = document.getElementById("pin-box");
  if (open) open.addEventListener("click", function () {
    var el = document.getElementById("pin-map");
    el.hidden = false;
    open.disabled = true;
    var css = document.createElement("link");
    css.rel = "stylesheet"; css.href = "/static/vendor/leaflet/leaflet.css";
    document.head.appendChild(css);
    var s = document.createElement("script");
    s.src = "/static/vendor/leaflet/leaflet.js";
    s.onload = function () { drawPinMap(el); };
    document.body.appendChild(s);
  });

  function drawPinMap(el) {
    var L = window.L;
    var map = L.map(el).setView([-28.5, 24.7], 5);
    if (box.dataset.tiles) L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution }).addTo(map);
    var marker = null;
    var towns = L.layerGroup().addTo(map);
    function loadTowns() {
      var p = val("province");
      towns.clearLayers();
      if (!p) return;
      fetch(box.dataset.townsUrl + "?province=" + encodeURIComponent(p), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (list) {
          var pts = [];
          list.forEach(function (t) {
            pts.push([t.lat, t.lon]);
            L.circleMarker([t.lat, t.lon], { radius: 3 }).bindTooltip(t.name).addTo(towns);
          });
          if (pts.length) map.fitBounds(pts);
        });
    }
    form.elements.province.addEventListener("change", loadTowns);
    loadTowns();
    map.on("click", function (e) {
      pin = { lat: Math.round(e.latlng.lat * 1e5) / 1e5, lon: Math.round(e.latlng.lng * 1e5) / 1e5 };
      if (marker) marker.setLatLng(e.latlng); else marker = L.marker(e.latlng).addTo(map);
      document.getElementById("pin-status").textContent = msg.pinned;
    });
  }
})();

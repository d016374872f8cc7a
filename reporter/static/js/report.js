// The report page's enhancement: seal the whole report (and its files) in this browser and
// post envelopes only. If sealing fails, say so and send nothing: never fall back silently
// to sending plaintext. Without JavaScript the plain form posts and the server seals it.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var E = window.ReporterEnvelope, P = window.ReporterPayload;
  if (!form || !E || !P || !window.nacl || !window.crypto || !window.crypto.getRandomValues) return;
  document.documentElement.classList.add("has-js");
  var keys = JSON.parse(document.getElementById("reporter-keys").textContent);
  var msg = document.getElementById("js-messages").dataset;
  var status = document.getElementById("js-status");
  var pin = null;

  var sendButton = document.getElementById("send");
  var bar = document.getElementById("send-progress");
  var barText = document.getElementById("send-progress-text");
  var busy = false;

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

  // A problem is shown twice: on the status line by the Send button, and by the field itself
  // (aria-invalid, a message the field is described by, focus on it).
  function unmark() {
    Array.prototype.slice.call(form.querySelectorAll(".js-field-error")).forEach(function (p) {
      var owner = document.getElementById(p.dataset.for);
      if (owner) {
        var ids = (owner.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
          return id && id !== p.id;
        });
        if (ids.length) owner.setAttribute("aria-describedby", ids.join(" "));
        else owner.removeAttribute("aria-describedby");
      }
      p.parentNode.removeChild(p);
    });
    Array.prototype.slice.call(form.querySelectorAll("[data-js-invalid]")).forEach(function (el) {
      el.removeAttribute("aria-invalid"); el.removeAttribute("data-js-invalid");
    });
  }
  function mark(id, text) {
    var el = document.getElementById(id);
    if (!el) return;
    var p = document.createElement("p");
    p.className = "field-error js-field-error";
    p.id = id + "-js-error";
    p.dataset.for = id;
    p.textContent = text;
    var group = el.tagName === "FIELDSET";
    var legend = group && el.querySelector("legend");
    if (legend) legend.parentNode.insertBefore(p, legend.nextSibling);
    else el.parentNode.insertBefore(p, el);
    el.setAttribute("aria-describedby", ((el.getAttribute("aria-describedby") || "") + " " + p.id).trim());
    var targets = group ? Array.prototype.slice.call(el.querySelectorAll("input")) : [el];
    targets.forEach(function (t) { t.setAttribute("aria-invalid", "true"); t.setAttribute("data-js-invalid", "1"); });
    if (targets[0]) targets[0].focus();
  }
  function problem(text, field) {
    unmark();
    if (field) mark(field, text);
    say(text, true);
  }

  function check(files) {
    if (!checked("categories").length) return [msg.needCategory, "categories"];
    if (!checked("perpetrators").length) return [msg.needPerpetrator, "perpetrators"];
    if (!keys.provinces[val("province")]) return [msg.needProvince, "province"];
    var prov = form.elements.province;
    var town = townChoice();
    if (town && town.group !== prov.options[prov.selectedIndex].textContent) return [msg.townProvince, "town"];
    if (!val("narrative").trim()) return [msg.needNarrative, "narrative"];
    var max = parseInt(form.dataset.maxFiles, 10);
    if (files.length > max) return [msg.tooMany, "attachments"];
    for (var i = 0; i < files.length; i++) {
      if (!/^(image\/|audio\/|application\/pdf|video\/3gpp)/.test(files[i].type)) return [msg.badType, "attachments"];
    }
    return null;
  }

  function readFile(blob) {
    return new Promise(function (resolve, reject) {
      var r = new FileReader();
      r.onload = function () { resolve(new Uint8Array(r.result)); };
      r.onerror = function () { reject(r.error); };
      r.readAsArrayBuffer(blob);
    });
  }

  // Photos: redrawn on a canvas and saved as a new JPEG, so only the pixels leave the phone
  // (no EXIF/XMP: no GPS, no time, no phone model), at most 1600 px on the longest side.
  var SIDE = 1600;
  function canvasReadable() {  // Tor Browser and some privacy modes hand back blank canvases
    var c = document.createElement("canvas");
    c.width = c.height = 2;
    var x = c.getContext("2d");
    if (!x) return false;
    x.fillStyle = "rgb(200,30,90)";
    x.fillRect(0, 0, 2, 2);
    var d = x.getImageData(0, 0, 1, 1).data;
    return d[0] === 200 && d[1] === 30 && d[2] === 90;
  }
  function cleanPhoto(file) {
    return new Promise(function (resolve, reject) {
      if (!canvasReadable()) return reject(new Error("canvas"));
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("decode")); };
      img.onload = function () {
        URL.revokeObjectURL(url);
        var w = img.naturalWidth, h = img.naturalHeight, f = Math.min(1, SIDE / Math.max(w, h));
        var c = document.createElement("canvas");
        c.width = Math.max(1, Math.round(w * f));
        c.height = Math.max(1, Math.round(h * f));
        var x = c.getContext("2d");
        x.fillStyle = "#fff";
        x.fillRect(0, 0, c.width, c.height);
        x.drawImage(img, 0, 0, c.width, c.height);
        c.toBlob(function (blob) {
          if (!blob || !blob.size) return reject(new Error("encode"));
          resolve({ blob: blob, type: "image/jpeg", cleaned: true,
                    name: file.name.replace(/\.[^.]*$/, "") + ".jpg" });
        }, "image/jpeg", 0.8);
      };
      img.src = url;
    });
  }
  function prepare(files) {
    var keep = form.elements.keep_original && form.elements.keep_original.checked;
    return Promise.all(files.map(function (file) {
      if (keep || !/^image\//.test(file.type)) {
        return { blob: file, type: file.type, name: file.name, cleaned: false };
      }
      return cleanPhoto(file).catch(function () { throw { field: "attachments", text: msg.photoFailed }; });
    })).then(function (list) {
      var maxBytes = parseInt(form.dataset.maxBytes, 10);
      list.forEach(function (f) { if (f.blob.size > maxBytes) throw { field: "attachments", text: msg.tooBig }; });
      return list;
    });
  }

  function seal(files) {
    var province = val("province");
    var recipients = [pk(keys.national), pk(keys.provinces[province]), pk(keys.recovery)];
    return Promise.all(files.map(function (f) { return readFile(f.blob); })).then(function (contents) {
      var sealedFiles = contents.map(function (bytes) { return E.sealAttachment(bytes, recipients); });
      var town = townChoice();
      var day = parseInt(val("day"), 10);
      // one schema for every channel (payload.js, the twin of reporter/payload.py), padded to its floor
      var payload = P.make({
        categories: checked("categories"), perpetrators: checked("perpetrators"),
        year: parseInt(val("year"), 10), month: parseInt(val("month"), 10) || null, day: isNaN(day) ? null : day,
        province: province, town_id: town ? town.id : null, town: town ? town.name : null,
        place_text: val("place"), pin: pin, narrative: val("narrative"),
        perpetrator_details: val("perpetrator_details"),
        consent_contact: form.elements.consent_contact.checked, consent_legal: form.elements.consent_legal.checked,
        attachments: files.map(function (f, i) {
          return { index: i, name: P.attachmentName(f.name), type: P.attachmentType(f.type), size: contents[i].length,
                   kc: sealedFiles[i].header.kc, metadata_removed: f.cleaned };
        }),
        language: document.documentElement.lang || "en", channel: "web-js"
      }, P.vocabularyOf(form));
      return { envelope: E.seal(payload, recipients), files: sealedFiles, province: province };
    });
  }

  function progress(fraction) {
    var pct = Math.round(fraction * 100);
    bar.hidden = false;
    bar.firstChild.value = pct;
    barText.textContent = pct + "%";
  }
  function done(text, field) {  // not sent: her words stay in the form, as she typed them
    busy = false;
    sendButton.disabled = false;
    bar.hidden = true;
    problem(text, field);
    if (!field && status.scrollIntoView) status.scrollIntoView({ block: "center" });
  }
  // What the server said when it refused: JSON for us, or its HTML page (older servers).
  function refusal(xhr) {
    var text, field = null, fresh = null;
    try {
      if (/json/.test(xhr.getResponseHeader("Content-Type") || "")) {
        var j = JSON.parse(xhr.responseText);
        text = j.error; field = j.field; fresh = j;
      } else {
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var el = doc.querySelector("#form-error .error, main .error, main h1");
        text = el && el.textContent.trim();
        fresh = {};
        ["form_id", "csrf_token"].forEach(function (n) {
          var i = doc.querySelector("#report-form input[name=" + n + "]");
          if (i) fresh[n] = i.value;
        });
      }
    } catch (e) { text = null; }
    // a new single-use form id or CSRF token, when the server handed one out with its answer
    ["form_id", "csrf_token"].forEach(function (n) {
      if (fresh && fresh[n] && form.elements[n]) form.elements[n].value = fresh[n];
    });
    done((text ? text + " " : "") + msg.refused, field && document.getElementById(field) ? field : null);
  }

  // Send only envelopes, with XMLHttpRequest for a progress bar. On success the server answers
  // 303 to the receipt page: go there, replacing this page in the history (Back never shows
  // the form again). A dropped network keeps the form as it is, ready to send again; the
  // server treats a second post of the same form id as the same report.
  function post(sealed) {
    var data = new FormData();
    data.append("csrf_token", val("csrf_token"));
    data.append("form_id", val("form_id"));
    data.append("sealed", "1");
    data.append("province", sealed.province);
    data.append("envelope", JSON.stringify(sealed.envelope));
    data.append("attachment_headers", JSON.stringify(sealed.files.map(function (f) { return f.header; })));
    sealed.files.forEach(function (f, i) {
      data.append("attachment", new Blob([f.body], { type: "application/octet-stream" }), "sealed-" + i + ".bin");
    });
    var xhr = new XMLHttpRequest(), watchdog = null, over = false;
    function lost() {
      if (over) return;
      over = true;
      clearTimeout(watchdog);
      window.removeEventListener("offline", lost);
      xhr.abort();
      done(msg.offline, null);
    }
    function wait(ms) { clearTimeout(watchdog); watchdog = setTimeout(lost, ms); }
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "fetch");
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) progress(e.loaded / e.total); wait(60000); };
    xhr.upload.onload = function () { progress(1); wait(90000); };
    xhr.onerror = xhr.ontimeout = lost;
    xhr.onload = function () {
      if (over) return;
      over = true;
      clearTimeout(watchdog);
      window.removeEventListener("offline", lost);
      if (xhr.status >= 200 && xhr.status < 300) {
        var here = new URL(form.action, location.href).href, next;
        try { next = JSON.parse(xhr.responseText).next; } catch (e) { next = null; }
        if (typeof next === "string" && next.charAt(0) === "/" && next.charAt(1) !== "/") {
          location.replace(next);  // the receipt page, fetched once
        } else if (xhr.responseURL && xhr.responseURL !== here) {
          location.replace(xhr.responseURL);
        } else {  // a server that answers the POST itself: show what it said
          document.open(); document.write(xhr.responseText); document.close();
        }
      } else {
        refusal(xhr);
      }
    };
    window.addEventListener("offline", lost);
    wait(60000);
    progress(0);
    say(msg.sending, false);
    xhr.send(data);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) return;  // a double tap sends once
    var files = Array.prototype.slice.call(form.elements.attachments.files || []);
    var bad = check(files);
    if (bad) { problem(bad[0], bad[1]); return; }
    // No signal: seal it now and keep only the envelope on this phone (offline.js), sent later.
    var keep = navigator.onLine === false && window.ReporterOffline;
    if (navigator.onLine === false && !keep) { problem(msg.offline, null); return; }
    unmark();
    busy = true;
    sendButton.disabled = true;
    say(files.length ? msg.cleaning : msg.locking, false);
    prepare(files).then(function (ready) {
      say(msg.locking, false);
      return seal(ready);
    }).then(function (sealed) {
      if (!keep) return post(sealed);
      return keep.keep(sealed).then(function () {  // locked and kept: the form is free for the next one
        busy = false; sendButton.disabled = false; pin = null; form.reset();
        say(msg.kept, false);
      });
    }).catch(function (err) {
      if (err && err.text) done(err.text, err.field);
      else done(msg.failed, null);
    });
  });

  // Leaving mid-form through a language or menu link would lose her words: ask first.
  // (Nothing is kept in localStorage or sessionStorage: a seized phone would keep it.)
  function dirty() {
    return Array.prototype.some.call(form.elements, function (el) {
      if (!el.name || el.type === "hidden" || el.name === "website") return false;
      if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
      if (el.type === "file") return !!(el.files && el.files.length);
      if (el.tagName === "SELECT") {
        var first = 0;
        for (var i = 0; i < el.options.length; i++) if (el.options[i].defaultSelected) { first = i; break; }
        return el.selectedIndex !== first;
      }
      return el.value !== el.defaultValue;
    }) || !!pin;
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("#languages a, .nav a, a.brand");
    if (a && !busy && dirty() && !window.confirm(msg.leave)) ev.preventDefault();
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

// The report page's service worker (docs/channels.md): keeps /report (in every language) and our
// own scripts and styles, so the page opens with no signal. Never a receipt, an inbox, a staff
// page or a POST: anything else goes to the network untouched. Network first: with signal she
// always gets a fresh page; the copy is for when there is none.
"use strict";
var CACHE = "reporter-offline-v1";
var PAGE = /^\/([a-z]{2,3}\/)?report$/;
var ASSETS = ["/static/css/site.css", "/static/favicon.svg", "/static/js/exit.js",
  "/static/vendor/nacl-fast.min.js", "/static/js/envelope.js", "/static/js/payload.js",
  "/static/js/offline.js", "/static/js/report.js"];

self.addEventListener("install", function (ev) {
  // the page has just loaded these: taken from the HTTP cache, not downloaded again
  ev.waitUntil(caches.open(CACHE).then(function (c) {
    return Promise.all(ASSETS.map(function (u) {
      return fetch(u, { cache: "force-cache" }).then(function (r) { if (r.ok) return c.put(u, r); }).catch(function () {});
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (ev) {
  var req = ev.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== location.origin) return;
  var key = url.pathname;
  if (url.search || (!PAGE.test(key) && ASSETS.indexOf(key) < 0)) return;  // only the plain form
  ev.respondWith(fetch(req).then(function (r) {
    if (r.ok && r.type === "basic" && !r.redirected) {
      var copy = r.clone();
      caches.open(CACHE).then(function (c) { return c.put(key, copy); });
    }
    return r;
  }, function () {
    return caches.match(key).then(function (hit) { return hit || Response.error(); });
  }));
});

/* Service worker of the field-entry page (served at /saisie-sw.js, scope /saisie).
 * The server prepends CACHE (a name per release) and SHELL (the page, its manifest and static files).
 * The shell is kept on the phone: the page opens with no network. Pages and files are fetched from the
 * network first (fresh when online) and from the cache when the network fails. The JSON routes
 * (/saisie/api/...) are never cached here: queued visits live in IndexedDB, written by the page.
 */
/* global CACHE, SHELL */
"use strict";

function keep(cache, url) {
  return fetch(new Request(url, { credentials: "same-origin", cache: "reload" })).then(function (response) {
    if (response.ok && !response.redirected) { return cache.put(url, response); }
    return null;
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(SHELL.map(function (url) { return keep(cache, url); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("voisinmap-saisie-") === 0 && n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function shellKey(request) {
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || request.method !== "GET") { return null; }
  if (request.mode === "navigate" && (url.pathname === "/saisie" || url.pathname === "/saisie/")) { return "/saisie"; }
  var key = url.pathname + url.search;
  return SHELL.indexOf(key) >= 0 ? key : null;
}

self.addEventListener("fetch", function (event) {
  var key = shellKey(event.request);
  if (key === null) { return; }
  event.respondWith(fetch(event.request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(key, copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(CACHE).then(function (cache) { return cache.match(key); }).then(function (hit) {
      return hit || Response.error();
    });
  }));
});

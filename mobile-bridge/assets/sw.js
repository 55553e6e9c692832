// Paygate service worker. It caches the static shell ONLY: the files below, fetched at install.
// Every other request (above all /p/* and /wallet*, which carry payment state and tokens) goes to
// the network and is never stored. Offline, a page navigation gets the offline page instead.
'use strict';

const SHELL_CACHE = 'paygate-shell-__SHELL_VERSION__';
const PRECACHE = [
  '/assets/bridge/app.js',
  '/assets/bridge/app.css',
  '/assets/bridge/icon.svg',
  '/manifest.webmanifest',
  '/offline',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((path) => new Request(path, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== SHELL_CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const shellFile = request.method === 'GET' && url.origin === self.location.origin && PRECACHE.includes(url.pathname);
  if (shellFile) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(request)));
    return;
  }
  // Network only: nothing here is ever put in a cache.
  if (request.mode === 'navigate') {
    event.respondWith(fetch(request).catch(() => caches.match('/offline')));
  }
});

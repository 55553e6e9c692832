// Paygate customer pages: the approval page (/p/{code}) and the wallet home (/wallet).
// Plain JS, no framework, nothing from elsewhere. It drives the wallet JSON API (/wallet/v1).
// Tokens live in sessionStorage (gone with the tab), never in localStorage.
(function () {
  'use strict';

  var ACCESS = 'paygate.access_token';
  var REFRESH = 'paygate.refresh_token';

  if ('serviceWorker' in navigator) {
    window.addEventListener('load', function () {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function () { /* the page works without it */ });
    });
  }

  // --- countdown: counts the server's remaining time down on this device's monotonic clock, so
  // a wrong phone clock does not matter; at zero the server renders the expired page.
  var countdown = document.getElementById('countdown');
  if (countdown) {
    var remaining = parseInt(countdown.getAttribute('data-remaining-ms'), 10) || 0;
    var started = performance.now();
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    var timer = setInterval(function () {
      var left = Math.max(0, remaining - (performance.now() - started));
      var secs = Math.ceil(left / 1000);
      countdown.textContent = pad(Math.floor(secs / 60)) + ':' + pad(secs % 60);
      if (left <= 0) {
        clearInterval(timer);
        window.location.reload();
      }
    }, 250);
  }

  var root = document.getElementById('wallet-app');
  if (!root) return;
  var config = JSON.parse(root.getAttribute('data-config') || '{}');
  var t = config.t || {};
  var $ = function (id) { return document.getElementById(id); };
  var auth = $('auth');
  var form = $('auth-form');
  var sources = $('sources');
  var list = $('source-list');
  var message = $('message');
  var approve = $('approve');
  var decline = $('decline');
  var choosing = !!config.code;

  // --- session ------------------------------------------------------------------------------
  function token(name) {
    try { return sessionStorage.getItem(name); } catch (e) { return null; }
  }
  function saveSession(body) {
    try {
      sessionStorage.setItem(ACCESS, body.access_token);
      sessionStorage.setItem(REFRESH, body.refresh_token);
    } catch (e) { /* private mode without storage: signed in for this page only */ }
  }
  function clearSession() {
    try { sessionStorage.removeItem(ACCESS); sessionStorage.removeItem(REFRESH); } catch (e) { /* nothing stored */ }
  }

  // --- API ----------------------------------------------------------------------------------
  function call(method, path, body, withToken) {
    var headers = { 'Accept': 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    var access = withToken ? token(ACCESS) : null;
    if (access) headers['Authorization'] = 'Bearer ' + access;
    return fetch(config.api + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: res.ok, status: res.status, body: data };
      });
    });
  }

  // With the access token; one refresh (rotating the refresh token) when it has run out.
  function authed(method, path, body) {
    return call(method, path, body, true).then(function (r) {
      var refresh = token(REFRESH);
      if (r.status !== 401 || !refresh) return r;
      return call('POST', '/sessions/refresh', { refresh_token: refresh }, false).then(function (rr) {
        if (!rr.ok) { clearSession(); return r; }
        saveSession(rr.body);
        return call(method, path, body, true);
      });
    });
  }

  function errorText(r) {
    return (r && r.body && r.body.error && r.body.error.message) || t.network_error;
  }
  function say(text) {
    message.textContent = text || '';
    message.hidden = !text;
  }
  function busy(on) {
    root.setAttribute('aria-busy', on ? 'true' : 'false');
    Array.prototype.forEach.call(root.querySelectorAll('button'), function (b) {
      if (on) { b.setAttribute('data-was-disabled', b.disabled ? '1' : ''); b.disabled = true; }
      else { b.disabled = b.getAttribute('data-was-disabled') === '1'; }
    });
    if (!on && approve) approve.disabled = !chosenSource();
  }
  function offline() { say(t.network_error); }

  // --- sign in / sign up --------------------------------------------------------------------
  function setMode(mode) {
    form.setAttribute('data-mode', mode);
    Array.prototype.forEach.call(form.querySelectorAll('[data-for-mode]'), function (el) {
      el.hidden = el.getAttribute('data-for-mode') !== mode;
    });
    $('password').setAttribute('autocomplete', mode === 'signup' ? 'new-password' : 'current-password');
  }
  function showSignIn() {
    auth.hidden = false;
    sources.hidden = true;
    if (approve) approve.disabled = true;
  }

  $('auth-toggle').addEventListener('click', function () {
    setMode(form.getAttribute('data-mode') === 'signup' ? 'signin' : 'signup');
    say('');
  });

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var identifier = $('identifier').value.trim();
    var password = $('password').value;
    var request;
    if (form.getAttribute('data-mode') === 'signup') {
      var body = { password: password };
      body[identifier.indexOf('@') >= 0 ? 'email' : 'phone'] = identifier;
      request = call('POST', '/customers', body, false);
    } else {
      request = call('POST', '/sessions', { identifier: identifier, password: password }, false);
    }
    say('');
    busy(true);
    request.then(function (r) {
      busy(false);
      if (!r.ok) { say(errorText(r)); return; }
      saveSession(r.body);
      $('password').value = '';
      loadSources();
    }).catch(function () { busy(false); offline(); });
  });

  $('sign-out').addEventListener('click', function () {
    clearSession();
    say('');
    showSignIn();
  });

  // --- funding sources ----------------------------------------------------------------------
  function chosenSource() {
    var checked = root.querySelector('input[name="funding_source"]:checked');
    return checked ? checked.value : null;
  }

  function renderSources(all) {
    // On an approval, only what can pay this payment: its mode, and wallets in its currency.
    var data = !choosing ? all : all.filter(function (s) {
      return s.livemode === config.livemode && (s.type !== 'wallet' || s.currency === config.currency);
    });
    while (list.lastChild && list.lastChild.tagName !== 'LEGEND') list.removeChild(list.lastChild);
    if (!data.length) {
      var none = document.createElement(choosing ? 'p' : 'li');
      none.textContent = t.no_sources;
      list.appendChild(none);
      return;
    }
    var preselect = null;
    data.forEach(function (s) {
      if (!preselect && s.type === 'wallet' && s.currency === config.currency) preselect = s.id;
    });
    data.forEach(function (s) {
      var row = document.createElement(choosing ? 'label' : 'li');
      row.className = 'source';
      if (choosing) {
        var radio = document.createElement('input');
        radio.type = 'radio';
        radio.name = 'funding_source';
        radio.value = s.id;
        radio.checked = s.id === preselect;
        radio.setAttribute('data-type', s.type);
        radio.addEventListener('change', function () { approve.disabled = false; say(''); });
        row.appendChild(radio);
      }
      var name = document.createElement('span');
      name.textContent = s.label;
      row.appendChild(name);
      if (s.balance_display) {
        var balance = document.createElement('span');
        balance.className = 'balance';
        balance.textContent = s.balance_display;
        row.appendChild(balance);
      }
      list.appendChild(row);
    });
  }

  function loadSources() {
    return authed('GET', '/funding_sources').then(function (r) {
      if (r.status === 401) { clearSession(); showSignIn(); say(t.session_expired); return; }
      if (!r.ok) { showSignIn(); say(errorText(r)); return; }
      renderSources((r.body && r.body.data) || []);
      auth.hidden = true;
      sources.hidden = false;
      if (approve) approve.disabled = !chosenSource();
    }).catch(function () { showSignIn(); offline(); });
  }

  // --- approve / decline: after either answer the server renders the final page -------------
  function answer(verb, body, withToken) {
    var path = '/approvals/' + encodeURIComponent(config.code) + '/' + verb;
    var request = withToken ? authed('POST', path, body) : call('POST', path, body, false);
    say('');
    busy(true);
    request.then(function (r) {
      // 409/410: the payment moved on meanwhile; the reloaded page says how it ended.
      if (r.ok || r.status === 409 || r.status === 410) { window.location.reload(); return; }
      busy(false);
      if (r.status === 401) { clearSession(); showSignIn(); }
      say(errorText(r));
    }).catch(function () { busy(false); offline(); });
  }

  if (approve) {
    approve.addEventListener('click', function () {
      var source = chosenSource();
      if (!source) { say(t.choose_source); return; }
      answer('approve', { funding_source: source }, true);
    });
  }
  if (decline) {
    decline.addEventListener('click', function () {
      answer('decline', {}, !!token(ACCESS));
    });
  }

  setMode('signin');
  if (token(ACCESS) || token(REFRESH)) loadSources();
  else showSignIn();
})();

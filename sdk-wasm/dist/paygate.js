// Paygate web SDK 0.1.0. Apache-2.0. Built by scripts/build-sdk from sdk-wasm/js/loader.js.
(function () {
"use strict";
const SCRIPT_URL = (typeof document !== "undefined" && document.currentScript && document.currentScript.src) || "";

// The page, the network and the timers of Paygate's web SDK. What must agree with the server
// (the payment's state machine, event parsing, the QR code, amounts, texts) is the Rust module
// (paygate_sdk_bg.wasm); this file only asks it what to show. scripts/build-sdk wraps it twice:
// paygate.mjs (an ES module) and paygate.js (a classic script that sets window.Paygate).
// SCRIPT_URL is this file's own URL, which the wrapper supplies.

const VERSION = "0.1.0";
const POLL_MS = 2000;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30000;

/** Misuse (a bad key, a wrong client secret, an unknown intent): a stable `code` and a message. */
class PaygateError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "PaygateError";
    this.code = code;
  }
}

let wasmModule = null;

/** Where this version's files are: beside this file, or in its version's folder under /sdk/v1/. */
function filesBase() {
  const dir = new URL("./", SCRIPT_URL).href;
  return dir.endsWith("/" + VERSION + "/") ? dir : dir + VERSION + "/";
}

function loadWasm() {
  if (!wasmModule) {
    wasmModule = import(filesBase() + "paygate_sdk.js").then(async (m) => {
      await m.default();
      return m;
    });
    wasmModule.catch(() => { wasmModule = null; });
  }
  return wasmModule;
}

/** Loads the SDK for a merchant's publishable key. Options: `locale` ("ko" or "en"), `gateway`
 * (the gateway's origin, when the SDK does not come from it, as with npm). */
async function load(publishableKey, options) {
  const opts = options || {};
  if (typeof window === "undefined" || typeof document === "undefined") {
    throw new PaygateError("unsupported_environment", "Paygate.load() needs a browser window.");
  }
  let wasm;
  try {
    wasm = await loadWasm();
  } catch (e) {
    throw new PaygateError("sdk_unavailable", "The Paygate SDK's module could not be loaded.");
  }
  if (typeof publishableKey !== "string" || !wasm.is_publishable_key(publishableKey)) {
    throw new PaygateError("invalid_publishable_key", "Paygate.load() takes your publishable key (pk_test_... or pk_live_...).");
  }
  const gateway = String(opts.gateway || new URL(SCRIPT_URL).origin).replace(/\/+$/, "");
  const locale = opts.locale || (navigator.language || "en");
  return new Checkout(wasm, gateway, publishableKey, locale);
}

class Checkout {
  constructor(wasm, gateway, key, locale) {
    this._wasm = wasm;
    this._gateway = gateway;
    this._key = key;
    this._locale = locale;
    this.texts = JSON.parse(wasm.texts(locale));
  }

  /** Shows the QR code (desktop) or the pay button (mobile) in `container`, follows the payment
   * and resolves with `{ status, paymentIntent }` once it ends. */
  async pay(options) {
    const opts = options || {};
    const intent = this._intentOf(opts.clientSecret);
    const host = typeof opts.container === "string" ? document.querySelector(opts.container) : opts.container;
    if (!host || typeof host.attachShadow !== "function") {
      throw new PaygateError("container_not_found", "pay() needs `container`: an element, or a selector that finds one.");
    }
    const text = await this._read(intent, opts.clientSecret);
    const payment = new this._wasm.Payment(text, !!opts.waitForConfirmation, this._locale);
    const ui = new View(host, this, payment, chooseMode(opts.mode));
    return follow(this, intent, opts.clientSecret, payment, JSON.parse(text), ui, opts);
  }

  /** On the page the phone returns to (the intent's return_url): the same result as pay(). */
  async resume(options) {
    const opts = options || {};
    const secret = opts.clientSecret || new URLSearchParams(location.search).get("payment_intent_client_secret");
    if (!secret) {
      throw new PaygateError("nothing_to_resume", "resume() found no payment_intent_client_secret in the page's URL; pass clientSecret.");
    }
    const intent = this._intentOf(secret);
    const text = await this._read(intent, secret);
    const payment = new this._wasm.Payment(text, !!opts.waitForConfirmation, this._locale);
    return follow(this, intent, secret, payment, JSON.parse(text), null, opts);
  }

  _intentOf(clientSecret) {
    const intent = typeof clientSecret === "string" ? this._wasm.client_secret_intent(clientSecret) : undefined;
    if (!intent) {
      throw new PaygateError("client_secret_invalid", "clientSecret must be the client_secret your server got when it created the payment intent.");
    }
    return intent;
  }

  /** The status read: the intent as the publishable key may see it, as JSON text. */
  async _read(intent, secret) {
    let response;
    try {
      response = await fetch(this._gateway + "/v1/payment_intents/" + intent + "?client_secret=" + encodeURIComponent(secret), {
        headers: { Authorization: "Bearer " + this._key },
        cache: "no-store",
        credentials: "omit",
      });
    } catch (e) {
      throw new PaygateError("network_error", "The payment gateway could not be reached.");
    }
    const body = await response.text();
    if (!response.ok) {
      let error = null;
      try { error = JSON.parse(body).error; } catch (e) { error = null; }
      throw new PaygateError(error && error.code ? error.code : "http_" + response.status, error && error.message ? error.message : "The payment gateway answered " + response.status + ".");
    }
    return body;
  }

  _streamUrl(intent, secret, lastEventId) {
    let url = this._gateway + "/v1/payment_intents/" + intent + "/events?client_secret=" + encodeURIComponent(secret) + "&key=" + encodeURIComponent(this._key);
    if (lastEventId) url += "&last_event_id=" + encodeURIComponent(lastEventId);
    return url;
  }
}

/** Follows one payment until it ends: the intent's event stream, resumed after the last event on
 * every reconnect (full-jitter backoff, then a status read), or polling where EventSource cannot
 * be used; and the status read again once the payment window closes. */
function follow(checkout, intent, secret, payment, initial, ui, opts) {
  return new Promise((resolve) => {
    let latest = initial;
    let source = null;
    let retry = null;
    let poller = null;
    let ticker = null;
    let attempts = 0;
    let done = false;
    const types = checkout._wasm.intent_event_types().split(",");

    const stop = () => {
      done = true;
      if (source) source.close();
      clearTimeout(retry);
      clearInterval(poller);
      clearInterval(ticker);
    };
    let lastStep = null;
    const show = () => {
      const view = JSON.parse(payment.view(Date.now()));
      if (ui) ui.render(view);
      const state = { step: view.step, statusText: view.status_text, outcome: view.outcome, paymentIntent: latest };
      if (view.step !== lastStep && typeof opts.onState === "function") {
        try { opts.onState(state); } catch (e) { /* the merchant's callback must not stop the payment */ }
      }
      lastStep = view.step;
      if (view.outcome && !done) {
        stop();
        resolve({ status: view.outcome, paymentIntent: latest });
      }
      return view;
    };
    const reread = () =>
      checkout._read(intent, secret).then((text) => {
        if (done) return;
        if (payment.apply_status(text)) latest = JSON.parse(text);
        show();
      }, () => { /* unreachable for now: the stream or the next poll tries again */ });
    const onEvent = (message) => {
      if (done) return;
      try {
        if (payment.apply_event(message.data)) latest = JSON.parse(message.data).data;
      } catch (e) {
        return;
      }
      show();
    };
    const poll = () => {
      if (!poller) poller = setInterval(reread, POLL_MS);
    };
    const connect = () => {
      if (done) return;
      if (typeof EventSource !== "function" || opts.transport === "poll") {
        poll();
        return;
      }
      source = new EventSource(checkout._streamUrl(intent, secret, payment.last_event_id()));
      source.onopen = () => {
        if (attempts > 0) reread();
        attempts = 0;
        if (ui) ui.connection(true);
      };
      for (const type of types) source.addEventListener(type, onEvent);
      source.onerror = () => {
        source.close();
        source = null;
        if (done) return;
        if (ui) ui.connection(false);
        attempts += 1;
        const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, attempts - 1));
        retry = setTimeout(() => { reread(); connect(); }, Math.random() * cap);
      };
    };

    if (show().outcome) return;
    connect();
    // The countdown; past the deadline the gateway decides (its sweep expires the intent).
    ticker = setInterval(() => {
      const view = show();
      if (!done && Date.now() >= view.expires_at_ms) poll();
    }, 1000);
  });
}

/** Desktop shows the QR code, mobile the pay button; `mode` overrides the guess. */
function chooseMode(mode) {
  if (mode === "qr" || mode === "link") return mode;
  const ua = navigator.userAgent || "";
  const mobile = navigator.userAgentData ? navigator.userAgentData.mobile : /Mobi|Android|iPhone|iPad|iPod/i.test(ua);
  return mobile ? "link" : "qr";
}

/** In-app browsers (messengers, social apps) handle custom schemes badly: plain https there. */
function inAppBrowser() {
  return /; wv\)|FBAN|FBAV|Instagram|KAKAOTALK|NAVER\(|Line\/|DaumApps|WhatsApp|Twitter/i.test(navigator.userAgent || "");
}

/** Opens the approval at once, from inside the click: the app by its scheme with the https link
 * as fallback, Android's intent URL on Chrome, plain https inside in-app browsers. */
function openApproval(view) {
  const ua = navigator.userAgent || "";
  if (!view.url) return;
  if (inAppBrowser()) {
    location.href = view.url;
  } else if (/Android/i.test(ua) && /Chrome\//.test(ua) && view.android_intent_url) {
    location.href = view.android_intent_url;
  } else {
    location.href = view.app_url || view.url;
    setTimeout(() => { if (!document.hidden) location.href = view.url; }, 1500);
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The checkout's box, in a shadow root of the merchant's container (styles from the gateway). */
class View {
  constructor(host, checkout, payment, mode) {
    const t = checkout.texts;
    this.host = host;
    this.mode = mode;
    this.current = null;
    const root = host.shadowRoot || host.attachShadow({ mode: "open" });
    root.textContent = "";
    const style = el("link");
    style.rel = "stylesheet";
    style.href = filesBase() + "paygate.css";
    root.appendChild(style);
    const box = el("div", "pg");
    box.lang = t.lang;
    box.setAttribute("part", "box");
    box.appendChild(el("p", "pg-title", t.title));
    this.amount = box.appendChild(el("p", "pg-amount"));
    this.order = box.appendChild(el("p", "pg-order"));
    this.action = box.appendChild(el("div", "pg-action"));
    if (mode === "qr") {
      this.qr = this.action.appendChild(el("div", "pg-qr"));
      this.qr.setAttribute("role", "img");
      this.qr.id = "pg-qr";
      this.action.appendChild(el("p", "pg-hint", t.scan_hint));
      const svg = payment.qr_svg();
      if (svg) this.qr.innerHTML = svg;
    } else {
      this.button = this.action.appendChild(el("a", "pg-pay", t.pay_in_app));
      this.button.id = "pg-pay";
      this.button.setAttribute("role", "button");
      this.button.addEventListener("click", (event) => {
        event.preventDefault();
        if (this.current) openApproval(this.current);
      });
      this.action.appendChild(el("p", "pg-hint", t.mobile_hint));
    }
    this.linkRow = box.appendChild(el("div", "pg-link-row"));
    this.linkRow.appendChild(el("p", "pg-link-hint", mode === "qr" ? t.link_hint : t.link_hint_phone));
    this.link = this.linkRow.appendChild(el("a", "pg-link"));
    this.link.id = "pg-link";
    this.copy = this.linkRow.appendChild(el("button", "pg-copy", t.copy));
    this.copy.type = "button";
    this.copy.addEventListener("click", () => {
      const done = () => { this.copy.textContent = t.copied; };
      if (navigator.clipboard && this.current && this.current.url) navigator.clipboard.writeText(this.current.url).then(done, () => {});
    });
    const timer = box.appendChild(el("p", "pg-timer"));
    timer.appendChild(el("span", "", t.expires_in + " "));
    this.remaining = timer.appendChild(el("time", "pg-remaining"));
    this.timer = timer;
    this.status = box.appendChild(el("p", "pg-status"));
    this.status.id = "pg-status";
    this.status.setAttribute("role", "status");
    this.status.setAttribute("aria-live", "polite");
    this.offline = box.appendChild(el("p", "pg-offline", t.reconnecting));
    this.offline.hidden = true;
    this.qrAlt = t.qr_alt;
    this.waitingText = t.waiting_for_approval;
    root.appendChild(box);
  }

  render(view) {
    this.current = view;
    this.amount.textContent = view.amount;
    this.order.textContent = view.order_name;
    this.remaining.textContent = view.remaining;
    // On a phone nothing is scanned: the payment waits for the customer's approval.
    const text = this.mode === "link" && view.step === "waiting_for_scan" ? this.waitingText : view.status_text;
    if (this.status.textContent !== text) this.status.textContent = text;
    this.status.dataset.step = view.step;
    this.host.dataset.paygateStep = view.step;
    const open = !!view.url && !view.outcome;
    this.action.hidden = !open;
    this.linkRow.hidden = !open;
    this.timer.hidden = !open;
    if (view.url) {
      this.link.href = view.url;
      this.link.textContent = view.url;
      if (this.qr) this.qr.setAttribute("aria-label", this.qrAlt + ": " + view.url);
      if (this.button) this.button.href = view.app_url || view.url;
    }
  }

  connection(up) {
    this.offline.hidden = up;
  }
}

if (typeof window !== "undefined") window.Paygate = { load: load, PaygateError: PaygateError, version: VERSION };
})();

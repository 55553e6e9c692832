// The checkout benchmark (not a test): how long after an approval the web SDK in a real browser
// shows success, against a bare reader of the same per-intent event stream in the same run, and
// how long pay() takes to put the QR code on screen. Headless Chromium, the release binary.
//
//   scripts/bench-checkout [payments]      (default 100; prints a Markdown table)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
const BINARY = process.env.PAYGATE_BIN || join(TARGET, 'release', 'paygate');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const PAYMENTS = Number(process.argv[2] || 100);
const now = () => performance.timeOrigin + performance.now();

function startGateway(dir) {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: cargo build --release -p paygate`);
  const env = { ...process.env, DATABASE_URL: `sqlite://${join(dir, 'paygate.db')}`, PAYGATE_BIND: '127.0.0.1:0', PAYGATE_DEMO_SHOP: 'off', RUST_LOG: 'warn' };
  delete env.PAYGATE_PUBLIC_URL;
  delete env.REDIS_URL;
  const child = spawn(BINARY, ['serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((res, rej) => {
    child.stdout.on('data', (c) => {
      out += c;
      const base = out.match(/API base URL\s+(\S+)\/v1/);
      const sk = out.match(/^\s+secret\s+(sk_test_\S+)/m);
      const pk = out.match(/^\s+publishable\s+(pk_test_\S+)/m);
      if (base && sk && pk) res({ child, base: base[1], sk: sk[1], pk: pk[1] });
    });
    child.on('exit', (code) => rej(new Error(`paygate exited ${code}:\n${out}`)));
  });
}

async function rest(base, method, path, token, body) {
  const res = await fetch(base + path, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
}

/** A bare reader of the intent's stream: `opened` once its headers arrive, `succeeded` with the
 * time its succeeded frame arrived. */
function bareStream(base, id, secret, pk) {
  let opened;
  const open = new Promise((r) => { opened = r; });
  const succeeded = new Promise((res, rej) => {
    const url = `${base}/v1/payment_intents/${id}/events?client_secret=${secret}&key=${pk}`;
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (response) => {
      opened();
      let buffer = '';
      response.on('data', (chunk) => {
        buffer += chunk;
        if (buffer.includes('event: payment_intent.succeeded')) {
          res(now());
          req.destroy();
        }
      });
    });
    req.on('error', (e) => { if (!/socket hang up|aborted/.test(e.message)) rej(e); });
    req.end();
  });
  return { open, succeeded };
}

/** The merchant's page: the SDK by script tag under the strict policy, one pay() per call. */
function startPage(gateway) {
  const origin = new URL(gateway).origin;
  const html = `<!doctype html><meta charset="utf-8"><title>bench</title><div id="pay"></div>
<script src="${gateway}/sdk/v1/paygate.js"></script><script src="/bench.js"></script>`;
  const script = `
window.bench = async (pk, secret) => {
  const t = { start: performance.timeOrigin + performance.now() };
  const pg = window.__pg || (window.__pg = await Paygate.load(pk, { locale: 'en' }));
  const old = document.getElementById('pay'); const host = document.createElement('div'); host.id = 'pay'; old.replaceWith(host);
  t.pay = performance.timeOrigin + performance.now();
  const qr = new Promise((r) => { const look = () => host.shadowRoot && host.shadowRoot.querySelector('#pg-qr svg') ? r(performance.timeOrigin + performance.now()) : requestAnimationFrame(look); look(); });
  const done = pg.pay({ clientSecret: secret, container: host, onState: (s) => { if (s.step === 'succeeded') t.succeeded = performance.timeOrigin + performance.now(); } });
  t.qr = await qr;
  window.__done = done.then((r) => { t.status = r.status; return t; });
  return t;
};`;
  const server = createServer((req, res) => {
    const csp = `default-src 'self'; script-src 'self' ${origin} 'wasm-unsafe-eval'; style-src 'self' ${origin}; connect-src ${origin}; img-src 'self' data:`;
    if (req.url === '/bench.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': csp }).end(html);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, url: `http://127.0.0.1:${server.address().port}/` })));
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-bench-checkout-'));
  const gateway = await startGateway(dir);
  const page = await startPage(gateway.base);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const tab = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const violations = [];
    tab.on('console', (m) => { if (/Content Security Policy|Refused/.test(m.text())) violations.push(m.text()); });
    await tab.goto(page.url);
    const sdk = [], bare = [], toQr = [];
    let coldQr = null;
    for (let i = 0; i < PAYMENTS; i++) {
      const intent = await rest(gateway.base, 'POST', '/v1/payment_intents', gateway.sk, {
        amount: 12000, currency: 'KRW', merchant_order_id: `bench-${i}`, order_name: 'Beans', customer_name: 'Bench',
      });
      const t = await tab.evaluate(([pk, secret]) => window.bench(pk, secret), [gateway.pk, intent.client_secret]);
      if (i === 0) coldQr = t.qr - t.start; else toQr.push(t.qr - t.pay);
      const reader = bareStream(gateway.base, intent.id, intent.client_secret, gateway.pk);
      await reader.open;
      // Both readers are following the intent before the approval.
      await tab.waitForFunction(() => document.getElementById('pay').dataset.paygateStep === 'waiting_for_scan');
      await new Promise((r) => setTimeout(r, 50));
      const approvedAt = now();
      await rest(gateway.base, 'POST', `/v1/test_helpers/payment_intents/${intent.id}/approve`, gateway.sk);
      const at = await reader.succeeded;
      const done = await tab.evaluate(() => window.__done);
      if (done.status !== 'succeeded') throw new Error(`payment ${i} ended ${done.status}`);
      sdk.push(done.succeeded - approvedAt);
      bare.push(at - approvedAt);
    }
    const row = (name, xs) => `| ${name} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 99).toFixed(1)} |`;
    console.log(`\n${PAYMENTS} payments, one browser tab (headless Chromium), release binary, SQLite; CSP violations: ${violations.length}\n`);
    console.log('| measure (ms) | p50 | p99 |\n| --- | --- | --- |');
    console.log(row('approval → bare per-intent SSE reader gets `succeeded` (baseline)', bare));
    console.log(row('approval → the SDK shows success in the page', sdk));
    console.log(`| ratio SDK / bare SSE | ${(pct(sdk, 50) / pct(bare, 50)).toFixed(2)} | ${(pct(sdk, 99) / pct(bare, 99)).toFixed(2)} |`);
    console.log(row('`pay()` → QR code on screen (warm: module loaded)', toQr));
    console.log(`| \`load()\` + \`pay()\` → QR code on screen, first payment (cold: module fetched and compiled) | ${coldQr.toFixed(1)} | |`);
  } finally {
    await browser.close();
    page.server.close();
    gateway.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

// The checkout in a real browser: headless Chromium (Debian's /usr/bin/chromium) against the
// real `paygate serve`, which runs the demo shop beside itself. A desktop (1280x800) buys in the
// shop and gets the web SDK's QR code; the test decodes that QR code from a screenshot, as a
// camera would, and a phone (390x844, touch) opens it, signs in and approves. Then: a decline and
// "new code", an expiry, a gateway restart in the middle of a payment, and the pay button on a
// phone. Zero CSP violations on every page. Screenshots go to target/artifacts/checkout-*.png.
//
//   node examples/demo-shop/tests/browser/checkout.mjs     (scripts/test-browser runs it)

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { ARTIFACTS, CHROMIUM, StepFailed, check, rest, startServer, stopServer } from '../../../../crates/test-support/js/server.mjs';

const STEP_TIMEOUT = 20_000;
const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const PASSWORD = 'correct horse battery staple';

const log = (...args) => console.log('[checkout-test]', ...args);

function freePort() {
  return new Promise((res, rej) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
    server.on('error', rej);
  });
}

/** `paygate serve` with the demo shop on fixed ports (so a restart keeps its URLs). */
class Platform {
  constructor(dir, gatewayPort, shopPort) {
    this.dir = dir;
    this.env = {
      DATABASE_URL: `sqlite://${join(dir, 'paygate.db')}`,
      PAYGATE_BIND: `127.0.0.1:${gatewayPort}`,
      PAYGATE_DEMO_SHOP: `127.0.0.1:${shopPort}`,
      PAYGATE_SWEEP_INTERVAL_SECS: '1',
    };
    this.child = null;
  }

  async start() {
    const server = startServer(this.dir, (output) => {
      const base = output.match(/API base URL\s+(\S+)\/v1/);
      const shop = output.match(/Demo shop\s+(http\S+)/);
      const secret = output.match(/^\s+secret\s+(sk_test_\S+)/m);
      return base && shop ? { base: base[1], shop: shop[1], sk: secret && secret[1] } : null;
    }, this.env);
    this.child = server.child;
    const urls = await server.ready;
    if (urls.sk) this.sk = urls.sk;
    return { base: urls.base, shop: urls.shop };
  }

  async stop() {
    await stopServer(this.child);
  }
}

/** Every page reports CSP violations and script errors into `problems`. */
async function watched(context, problems, name) {
  await context.addInitScript(() => {
    window.__steps = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
    new MutationObserver(() => {
      const host = document.getElementById('pay');
      const step = host && host.dataset.paygateStep;
      if (step && window.__steps[window.__steps.length - 1] !== step) window.__steps.push(step);
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-paygate-step'] });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /CSP violation|Content Security Policy|Refused to/i.test(m.text())) problems.push(`${name}: ${m.text()}`);
  });
  return page;
}

/** Leaves the current page for a blank one. The approval page's processing and final pages
 * reload themselves (every 2 s, or back to the shop after 3 s), which may interrupt this. */
async function leave(page) {
  for (let attempt = 0; ; attempt++) {
    try {
      await page.goto('about:blank');
      return;
    } catch (e) {
      if (attempt >= 5 || !/interrupted|ERR_ABORTED/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** Puts one coffee in the cart and checks out; lands on the pay page. */
async function buy(page, shop, customer) {
  await leave(page);
  await page.goto(shop + '/');
  await page.locator('#add-1').click();
  await page.goto(shop + '/cart');
  await page.locator('#customer-name').fill(customer);
  await page.locator('#checkout').click();
  await page.waitForURL(/\/orders\/[^/]+\/pay$/);
}

/** The approval URL, read from a screenshot of the QR code the SDK drew. */
async function scanQr(page, shot) {
  const qr = page.locator('#pg-qr svg');
  await qr.waitFor({ state: 'visible' });
  const png = PNG.sync.read(await page.locator('#pg-qr').screenshot({ path: shot }));
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  check(code && code.data, 'no QR code could be decoded from the screenshot');
  return code.data;
}

async function step(page, expected) {
  await page.waitForFunction((s) => document.getElementById('pay')?.dataset.paygateStep === s, expected);
}

async function result(page, expected) {
  await page.locator(`#pay-result[data-status="${expected}"]`).waitFor({ state: 'visible' });
}

async function phoneContext(browser) {
  return browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, userAgent: IPHONE_UA, locale: 'en-US',
  });
}

/** On the phone: open the approval link, sign in (or up), and approve or decline. */
async function answerOnPhone(phone, url, email, answer) {
  if (url) {
    // The last page may be about to reload itself (a final page returns to the shop after 3 s).
    await leave(phone);
    const opened = await phone.goto(url);
    check(opened && opened.status() === 200, `the approval page answered ${opened && opened.status()}`);
  }
  if (answer === 'open') return;
  // Signed in once, the phone stays signed in.
  await phone.locator('#sources:visible, #identifier:visible').first().waitFor({ state: 'visible' });
  if (await phone.locator('#identifier').isVisible()) {
    await phone.locator('#identifier').fill(email);
    await phone.locator('#password').fill(PASSWORD);
    await phone.locator('#auth-submit').tap();
  }
  if (answer === 'decline') {
    await phone.locator('#decline').waitFor({ state: 'visible' });
    await phone.locator('#decline').tap();
    await phone.locator('[data-outcome="ended"]').waitFor({ state: 'visible' });
    return;
  }
  await phone.locator('#sources').waitFor({ state: 'visible' });
  await phone.locator('input[name="funding_source"][data-type="wallet"]').first().tap();
  await phone.locator('#approve').tap();
}

async function orderStatus(page, orderUrl, expected) {
  for (let i = 0; i < 40; i++) {
    await page.goto(orderUrl);
    const status = await page.locator('#order-status').getAttribute('data-status');
    if (status === expected) return;
    await page.waitForTimeout(500);
  }
  check(false, `the shop's order never became ${expected}`);
}

async function run(platform, urls, browser) {
  const { base, shop } = urls;
  const sk = platform.sk;
  const problems = [];
  const email = `checkout-${Date.now()}@example.test`;
  const signedUp = await rest(base, 'POST', '/wallet/v1/customers', { body: { email, password: PASSWORD } });
  check(signedUp.status === 201, `signing up the wallet customer answered ${signedUp.status}: ${signedUp.text}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = (name) => join(ARTIFACTS, `checkout-${name}.png`);

  const desktopContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const desktop = await watched(desktopContext, problems, 'desktop');
  const phoneCtx = await phoneContext(browser);
  const phone = await watched(phoneCtx, problems, 'phone');

  // 1. Desktop buys; the phone scans the QR code from the screen and approves.
  const started = Date.now();
  await buy(desktop, shop, 'Kim Minji');
  const payUrl = desktop.url();
  const approvalUrl = await scanQr(desktop, shot('qr-only'));
  log(`QR decoded in ${Date.now() - started} ms from the checkout: ${approvalUrl.replace(/\/p\/.*/, '/p/…')}`);
  check(approvalUrl.startsWith(`${base}/p/`), `the QR code holds ${approvalUrl}, not an approval link`);
  await step(desktop, 'waiting_for_scan');
  check(await desktop.locator('#pg-status').textContent() === 'Waiting for a scan', 'the status line waits for a scan');
  check(await desktop.locator('#pg-status').getAttribute('aria-live') === 'polite', 'the status line is a live region');
  check(/QR code of the payment link: http/.test(await desktop.locator('#pg-qr').getAttribute('aria-label')), 'the QR code has a text alternative');
  check(await desktop.locator('#pg-link').textContent() === approvalUrl, 'the link is shown as text too');
  check(/^\d\d:\d\d$/.test(await desktop.locator('.pg-remaining').textContent()), 'a countdown is shown');
  await desktop.screenshot({ path: shot('desktop-qr') });
  await answerOnPhone(phone, approvalUrl, email, 'open');
  await step(desktop, 'scanned');
  check(await desktop.locator('#pg-status').textContent() === 'Opened on your phone', 'the desktop says the phone opened it');
  await desktop.screenshot({ path: shot('desktop-scanned') });
  await answerOnPhone(phone, approvalUrl, email, 'approve');
  await result(desktop, 'succeeded');
  const steps = await desktop.evaluate(() => window.__steps);
  log(`desktop steps: ${steps.join(' → ')}`);
  check(steps[0] === 'waiting_for_scan' && steps.includes('scanned') && steps[steps.length - 1] === 'succeeded', `steps ${steps}`);
  await desktop.screenshot({ path: shot('desktop-succeeded') });
  await phone.screenshot({ path: shot('phone-approved') });
  const orderUrl = payUrl.replace(/\/pay$/, '');
  await orderStatus(desktop, orderUrl, 'paid');
  const intentId = await desktop.locator('#intent-id').textContent();
  const intent = await rest(base, 'GET', `/v1/payment_intents/${intentId.trim()}`, { token: sk });
  check(intent.json && intent.json.status === 'succeeded' && intent.json.amount_captured === 12000, `the intent is ${intent.text}`);
  log('paid: the desktop saw the scan and the success without a reload; the order is paid through the verified webhook');

  // 2. A decline resolves `failed`; "new code" gives a new QR code.
  await buy(desktop, shop, 'Lee Jiho');
  const declineUrl = await scanQr(desktop, shot('qr-decline'));
  await answerOnPhone(phone, declineUrl, email, 'decline');
  await result(desktop, 'failed');
  await desktop.screenshot({ path: shot('desktop-failed') });
  await desktop.locator('#new-code').click();
  const fresh = await scanQr(desktop, shot('qr-new-code'));
  check(fresh !== declineUrl && fresh.startsWith(`${base}/p/`), 'the new code is another approval link');
  await step(desktop, 'waiting_for_scan');
  log('declined: failed, and "new code" shows a new QR code');

  // 3. Expiry resolves `expired` (the test helper ends the window now).
  const latest = await rest(base, 'GET', '/v1/payment_intents?limit=1', { token: sk });
  const expiring = latest.json.data[0];
  check(expiring.next_action && expiring.next_action.url === fresh, 'the newest intent is the new code');
  const expired = await rest(base, 'POST', `/v1/test_helpers/payment_intents/${expiring.id}/expire`, { token: sk, body: {} });
  check(expired.status === 200, `expire answered ${expired.status}`);
  await result(desktop, 'expired');
  await desktop.locator('#new-code').waitFor({ state: 'visible' });
  await desktop.screenshot({ path: shot('desktop-expired') });
  log('expired: resolved expired and offers a new code');

  // 4. The gateway restarts mid-payment: the SDK reconnects after the last event it applied.
  const streams = [];
  desktop.on('request', (r) => { if (r.url().includes('/events?')) streams.push(r.url()); });
  await buy(desktop, shop, 'Park Seoyeon');
  const cutUrl = await scanQr(desktop, shot('qr-restart'));
  await answerOnPhone(phone, cutUrl, email, 'open');
  await step(desktop, 'scanned');
  // The phone leaves the page while the gateway is down (its script would reload it meanwhile).
  await leave(phone);
  await platform.stop();
  await desktop.locator('.pg-offline:not([hidden])').waitFor({ state: 'visible' });
  await desktop.screenshot({ path: shot('desktop-reconnecting') });
  await platform.start();
  await answerOnPhone(phone, cutUrl, email, 'approve');
  await result(desktop, 'succeeded');
  const resumed = streams.filter((u) => u.includes('last_event_id=evt_'));
  check(resumed.length >= 1, `no reconnect named the last event: ${streams.join('\n')}`);
  const cutSteps = await desktop.evaluate(() => window.__steps);
  check(cutSteps[cutSteps.length - 1] === 'succeeded', `steps after the restart: ${cutSteps}`);
  log(`restart: ${streams.length} stream requests, ${resumed.length} resumed after the last event; steps ${cutSteps.join(' → ')}`);

  // 5. On a phone the SDK shows the pay button (the app link) and the https fallback.
  await buy(phone, shop, 'Choi Yuna');
  const button = phone.locator('#pg-pay');
  await button.waitFor({ state: 'visible' });
  const appLink = await button.getAttribute('href');
  const fallback = await phone.locator('#pg-link').getAttribute('href');
  check(/^paygate:\/\/p\/[0-9A-Za-z]{32}$/.test(appLink), `the pay button opens ${appLink}`);
  check(fallback.startsWith(`${base}/p/`), `the fallback link is ${fallback}`);
  check((await phone.locator('#pg-qr').count()) === 0, 'no QR code on a phone');
  check(await phone.locator('#pg-status').textContent() === 'Waiting for your approval', 'a phone waits for the approval, not a scan');
  await phone.screenshot({ path: shot('phone-pay-button'), fullPage: true });
  // No wallet app here: the app link goes nowhere, and the https link takes over.
  await button.tap();
  // (The app link's navigation aborts, so wait on the committed URL rather than a navigation.)
  for (let i = 0; i < 50 && phone.url() !== fallback; i++) await new Promise((r) => setTimeout(r, 200));
  check(phone.url() === fallback, `after the app link the phone is at ${phone.url()}, not the https fallback`);
  log('phone: the pay button opens the app link, and without the app the https link');

  // 5a. Android Chrome: the pay button asks for the intent:// URL (the app, or Chrome's own
  //     fallback to the https link), inside the click.
  const androidCtx = await browser.newContext({
    viewport: { width: 412, height: 915 }, isMobile: true, hasTouch: true, locale: 'en-US',
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  });
  const android = await watched(androidCtx, problems, 'android');
  await buy(android, shop, 'Yoon Dahye');
  await android.locator('#pg-pay').waitFor({ state: 'visible' });
  const cdp = await androidCtx.newCDPSession(android);
  await cdp.send('Page.enable');
  const asked = [];
  cdp.on('Page.frameRequestedNavigation', (e) => asked.push(e.url));
  await android.locator('#pg-pay').tap();
  for (let i = 0; i < 25 && asked.length === 0; i++) await new Promise((r) => setTimeout(r, 200));
  check(asked.length >= 1 && /^intent:\/\/p\/[0-9A-Za-z]{32}#Intent;/.test(asked[0]) && asked[0].includes('S.browser_fallback_url='), `Android asked for ${asked}`);
  log(`android: the pay button asks for ${asked[0].replace(/p\/[0-9A-Za-z]{32}/, 'p/…').slice(0, 60)}…`);
  await androidCtx.close();

  // 5b. Without EventSource the SDK polls the status read; and the box is reachable by keyboard.
  const pollingCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  await pollingCtx.addInitScript(() => { delete window.EventSource; });
  const polling = await watched(pollingCtx, problems, 'polling');
  const polled = [];
  polling.on('request', (r) => { if (/\/v1\/payment_intents\/pi_[^/]+\?client_secret=/.test(r.url())) polled.push(r.url()); });
  await buy(polling, shop, 'Han Jisu');
  await scanQr(polling, shot('qr-polling'));
  let focused = null;
  for (let i = 0; i < 20 && focused !== 'pg-link'; i++) {
    await polling.keyboard.press('Tab');
    focused = await polling.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.id || null);
  }
  check(focused === 'pg-link', 'Tab reaches the payment link in the SDK box');
  await polling.keyboard.press('Tab');
  check(await polling.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.className) === 'pg-copy', 'then the copy button');
  const pollIntent = (await rest(base, 'GET', '/v1/payment_intents?limit=1', { token: sk })).json.data[0];
  await rest(base, 'POST', `/v1/test_helpers/payment_intents/${pollIntent.id}/approve`, { token: sk, body: {} });
  await result(polling, 'succeeded');
  check(polled.length >= 2, `the SDK read the status ${polled.length} times`);
  log(`no EventSource: polled the status read ${polled.length} times and resolved succeeded; keyboard reaches the link and the copy button`);
  await pollingCtx.close();

  // 6. Inside an in-app browser (KakaoTalk) the pay button goes straight to the https link; after
  //    the approval the phone returns to the shop (return_url), where resume() finishes.
  const inAppCtx = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'ko-KR',
    userAgent: IPHONE_UA.replace('Version/17.5 Mobile/15E148 Safari/604.1', 'Mobile/15E148 KAKAOTALK 10.4.5'),
  });
  const inApp = await watched(inAppCtx, problems, 'in-app');
  await buy(inApp, shop, 'Jung Haneul');
  await inApp.locator('#pg-pay').waitFor({ state: 'visible' });
  check(await inApp.locator('#pg-status').textContent() === 'Waiting for your approval', 'the status line on a phone');
  await inApp.locator('#pg-pay').tap();
  await inApp.waitForURL(/\/p\/[0-9A-Za-z]{32}$/);
  check(inApp.url().startsWith(`${base}/p/`), `the in-app browser went to ${inApp.url()}`);
  await answerOnPhone(inApp, null, email, 'approve');
  await inApp.locator('#return-to-merchant').waitFor({ state: 'visible' });
  await inApp.screenshot({ path: shot('in-app-approved') });
  await inApp.waitForURL(/\/orders\/[^/]+\/return\?.*payment_intent_client_secret=/, { timeout: 15_000 });

  await inApp.locator('#resume-result[data-status]').waitFor({ state: 'attached' });
  const returned = await inApp.locator('#resume-result').getAttribute('data-status');
  check(returned === 'succeeded', `resume() on the return page gave ${returned}: ${await inApp.locator('#resume-result').textContent()}`);
  await inApp.screenshot({ path: shot('in-app-returned') });
  log('in-app browser: plain https redirect, back to the shop after the approval, resume() resolves succeeded');

  // 7. Misuse rejects with a typed error; it never hangs.
  const errors = await desktop.evaluate(async () => {
    const codes = [];
    for (const [key, secret] of [['pk_nope', null], ['pk_test_' + '0'.repeat(64), 'pi_000000000000000000000000_secret_' + '0'.repeat(40)], [null, 'not a secret']]) {
      try {
        const pg = await window.Paygate.load(key || document.getElementById('pay')?.dataset.publishableKey || 'x');
        await pg.pay({ clientSecret: secret, container: '#pay' });
        codes.push('resolved');
      } catch (e) {
        codes.push(e.name + ':' + e.code);
      }
    }
    return codes;
  });
  check(JSON.stringify(errors) === JSON.stringify(['PaygateError:invalid_publishable_key', 'PaygateError:invalid_api_key', 'PaygateError:client_secret_invalid']), `misuse gave ${errors}`);
  log(`misuse: ${errors.join(', ')}`);

  check(problems.length === 0, problems.join('\n'));
  log('zero CSP violations on the shop and approval pages');
  await inAppCtx.close();
  await desktopContext.close();
  await phoneCtx.close();
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-checkout-'));
  const platform = new Platform(dir, await freePort(), await freePort());
  let browser = null;
  const stop = async () => {
    if (browser) await browser.close().catch(() => {});
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { stop().finally(() => process.exit(130)); });
  try {
    const urls = await platform.start();
    check(platform.sk, 'the first run printed no secret key');
    log(`gateway ${urls.base}, demo shop ${urls.shop}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    await run(platform, urls, browser);
    log('passed');
  } catch (e) {
    console.error('[checkout-test] FAILED:', e instanceof StepFailed ? e.message : e);
    process.exitCode = 1;
  } finally {
    await stop();
  }
}

await main();

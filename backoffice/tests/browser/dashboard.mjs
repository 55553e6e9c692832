// Merchant staff in the back office, on a desktop: headless Chromium (Debian's /usr/bin/chromium,
// never a downloaded one) against the real binary (`target/debug/paygate serve`) on a free port
// over a fresh SQLite file. Signs a merchant up, reads the code from the development mailbox,
// takes payments through the REST API with the new test key, finds one by customer name and
// date, refunds part of it on its detail page, finds the refund with the type filter, exports the
// CSV, makes an API key and a webhook endpoint on the developers' pages (the endpoint's
// deliveries reach a receiver here that checks their signatures with the secret the page
// showed once; a failed attempt is in the log and a resend succeeds), browses the events, turns
// on two-factor sign-in and signs in with a code, and switches to Korean and dark.
//
// Screenshots: target/artifacts/dashboard-*.png. Exits non-zero on any failed step; the server is
// always stopped.

import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS, CHROMIUM, StepFailed, check, rest, startServer, stopServer } from '../../../crates/test-support/js/server.mjs';

const STEP_TIMEOUT = 15_000;
const OWNER = { email: `owner-${Date.now()}@bakery.example`, password: 'correct horse battery staple', shop: 'Seoul Bakery' };

const log = (...args) => console.log('[dashboard-test]', ...args);

async function pay(base, sk, customer, amount, order) {
  const created = await rest(base, 'POST', '/v1/payment_intents', {
    token: sk,
    body: { amount, currency: 'KRW', merchant_order_id: order, order_name: '원두 1kg', customer_name: customer },
  });
  check(created.status === 201, `creating an intent answered ${created.status}: ${created.text}`);
  const approved = await rest(base, 'POST', `/v1/test_helpers/payment_intents/${created.json.id}/approve`, { token: sk, body: {} });
  check(approved.json && approved.json.status === 'succeeded', `approving answered ${approved.text}`);
  return created.json.id;
}

/** A webhook receiver on a free port: answers `status`, keeps each request. */
function startReceiver() {
  const receiver = { status: 500, got: [] };
  receiver.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      receiver.got.push({ headers: req.headers, body });
      res.writeHead(receiver.status).end();
    });
  });
  receiver.ready = new Promise((resolve) => receiver.server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${receiver.server.address().port}/hooks`)));
  return receiver;
}

/** Standard Webhooks: base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the secret's key. */
function signatureVerifies(secret, { headers, body }) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
  return headers['webhook-signature'].split(' ').some((s) => s === `v1,${expected}`);
}

/** Reloads `page` until `locator` (a function of the page) finds something, for up to 20 s. */
async function reloadUntil(page, locator, what) {
  for (let i = 0; i < 40; i++) {
    if ((await locator(page).count()) > 0) return;
    await page.waitForTimeout(500);
    await page.reload();
  }
  throw new StepFailed(`${what} did not appear within 20 s`);
}

/** RFC 6238 (HMAC-SHA1, six digits, 30 s) from a base32 key, as an authenticator app computes it. */
function totp(base32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });

async function run(base, browser) {
  try {
    await flow(base, browser);
  } catch (e) {
    for (const context of browser.contexts()) {
      for (const [i, page] of context.pages().entries()) await shot(page, `failure-${i}`).catch(() => {});
    }
    throw e;
  }
}

async function flow(base, browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-US', acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  mkdirSync(ARTIFACTS, { recursive: true });

  // Sign up.
  await page.goto(`${base}/dashboard/signup`);
  await page.getByLabel('Business name').fill(OWNER.shop);
  await page.getByLabel('Work email').fill(OWNER.email);
  await page.getByLabel(/^Password/).fill(OWNER.password);
  await shot(page, 'signup');
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.getByRole('heading', { name: 'Check your mail' }).waitFor();

  // The code, from the development mailbox in a second tab.
  const mailbox = await context.newPage();
  await mailbox.goto(`${base}/dashboard/dev/mail`);
  const subject = await mailbox.locator('article.mail', { hasText: OWNER.email }).first().locator('.subject').textContent();
  const code = subject.trim().split(' ')[0];
  check(/^\d{6}$/.test(code), `the mailbox shows a six-digit code (${subject})`);
  await shot(mailbox, 'mailbox');
  await mailbox.close();

  await page.getByLabel('Code').fill(code);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('heading', { name: `Welcome, ${OWNER.shop}` }).waitFor();
  const sk = (await page.locator('code.key', { hasText: 'sk_test_' }).textContent()).trim();
  check(/^sk_test_[0-9a-f]{64}$/.test(sk), 'the welcome page shows the new test secret key once');
  await shot(page, 'welcome');
  log('signed up; test key shown once');

  // Payments through the API, as the merchant's server would make them.
  const minsu = await pay(base, sk, '김민수', 12000, 'order-1001');
  await pay(base, sk, '이영희', 30000, 'order-1002');
  await pay(base, sk, 'Alice Kim', 8000, 'order-1003');

  // Sign out, then in again with the password.
  await page.goto(`${base}/dashboard/transactions`);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(OWNER.email);
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Transactions' }).waitFor();
  check(await page.locator('#test-badge').isVisible(), 'test mode shows its TEST badge');
  check((await page.locator('#total-count').textContent()) === '3', 'three payments listed');
  await shot(page, 'transactions');

  // Home: today's payments in the chart, and the success rate.
  await page.getByRole('link', { name: 'Home', exact: true }).click();
  await page.locator('#volume-chart svg').waitFor();
  check(await page.locator('#volume-chart rect title', { hasText: '₩50,000' }).count() === 1, 'today\'s bar holds the three payments');
  check((await page.locator('#success-rate').textContent()) === '100.0%', 'every payment succeeded');
  await shot(page, 'home');
  await page.getByRole('link', { name: 'Transactions', exact: true }).click();

  // Find one by customer name (two Korean characters) and today's date.
  await page.getByLabel('Customer name').fill('민수');
  await page.getByLabel(/^Date/).selectOption('today');
  // htmx (vendored) swaps the results in place: the page is not reloaded, the URL follows.
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/q=%EB%AF%BC%EC%88%98/);
  await page.waitForFunction(() => document.querySelector('#total-count').textContent === '1');
  check((await page.locator('#total-count').textContent()) === '1', 'the name and date find one payment');
  check(await page.evaluate(() => window.__sameDocument === true), `the filter updated the results without reloading the page (htmx: ${await page.evaluate(() => typeof window.htmx)}; ${problems.join('; ')})`);
  check((await page.locator('td.customer').allTextContents()).join() === '김민수', 'and it is 김민수');
  check(await page.getByText('₩12,000', { exact: true }).isVisible(), 'its amount is written as Korean won');
  await shot(page, 'filtered');
  log('found by customer name and date');

  // Refund part of it on its detail page, then find the refund with the type filter.
  await page.getByRole('link', { name: minsu }).click();
  await page.getByRole('heading', { name: /^Payment/ }).waitFor();
  check(await page.getByText('payment_intent.succeeded', { exact: true }).isVisible(), 'the timeline shows the success');
  await page.getByLabel(/^Amount/).fill('5,000');
  await page.getByLabel('Reason', { exact: true }).fill('one item returned');
  await page.getByRole('button', { name: 'Refund', exact: true }).click();
  await page.getByText('The refund was made.').waitFor();
  check((await page.locator('#payment-status').getAttribute('data-status')) === 'partially_refunded', 'the payment is partially refunded');
  check((await page.locator('#payment-status').textContent()) === 'Partially refunded', 'in words');
  check(await page.locator('#payment-refunds').getByText('one item returned').isVisible(), 'the refund and its reason are listed');
  await shot(page, 'payment-refunded');
  const refunded = await rest(base, 'GET', `/v1/payment_intents/${minsu}`, { token: sk });
  check(refunded.json.amount_refunded === 5000, `the API sees ₩5,000 refunded (${refunded.text})`);
  await page.goto(`${base}/dashboard/transactions?range=today`);
  await page.getByLabel('refund').check();
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/type=refund/);
  check((await page.locator('#total-count').textContent()) === '1', 'the type filter finds the one refund');
  check(await page.getByText('₩5,000', { exact: true }).isVisible(), 'of ₩5,000');
  await shot(page, 'refunds');

  // Save that filter as a view for the team, then open it from a clean list.
  await page.getByLabel('View name').fill('Refunds today');
  await page.getByRole('button', { name: 'Save this view' }).click();
  await page.waitForURL(/type=refund/);
  await page.goto(`${base}/dashboard/transactions`);
  await page.locator('#saved-views').getByRole('link', { name: 'Refunds today' }).click();
  await page.waitForURL(/type=refund/);
  check((await page.locator('#total-count').textContent()) === '1', 'the saved view opens the same list');
  log('saved view ok');

  // Export what the filter shows.
  await page.goto(`${base}/dashboard/transactions?range=all`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-csv').click()]);
  const csv = readFileSync(await download.path(), 'utf8');
  check(csv.charCodeAt(0) === 0xfeff, 'the CSV starts with a byte-order mark');
  const lines = csv.slice(1).trim().split('\r\n');
  check(lines[0].startsWith('created_at (Asia/Seoul),type,status,amount'), `the CSV header: ${lines[0]}`);
  check(lines.length === 5, `four rows (three payments, one refund), got ${lines.length - 1}`);
  check(lines[1].includes(',refund,succeeded,5000,KRW,김민수,'), `the newest row is the refund: ${lines[1]}`);
  check(lines.some((l) => l.includes(',payment,succeeded,30000,KRW,이영희,원두 1kg,order-1002,')), 'with 이영희\'s payment');
  log('CSV export ok');

  // The developers' pages: a key shown once, that works at once and shows its last use.
  await page.getByRole('link', { name: 'Developers', exact: true }).click();
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
  await page.locator('#key-kind').selectOption('secret');
  await page.getByRole('button', { name: 'Create key' }).click();
  const newKey = (await page.locator('#new-key').textContent()).trim();
  check(/^sk_test_[0-9a-f]{64}$/.test(newKey), `the new key is shown once (${newKey.slice(0, 12)}…)`);
  await shot(page, 'key-created');
  check((await rest(base, 'GET', '/v1/payment_intents', { token: newKey })).status === 200, 'the new key works at once');
  await page.goto(`${base}/dashboard/developers/keys`);
  check((await page.locator('#new-key').count()) === 0 && !(await page.content()).includes(newKey.slice(12)), 'and is never shown again');
  const keyRow = page.locator('#keys tr', { hasText: `${newKey.slice(0, 12)}…` });
  check(!/Never/.test(await keyRow.locator('td.last-used').textContent()), 'its last use is shown');
  await shot(page, 'keys');
  log('API key made, shown once, used');

  // A webhook endpoint whose deliveries reach the receiver here, signed with the secret shown.
  const receiver = startReceiver();
  const hookUrl = await receiver.ready;
  await page.locator('nav.subnav').getByRole('link', { name: 'Webhooks' }).click();
  await page.getByLabel('URL').fill(hookUrl);
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const secret = (await page.locator('#new-secret').textContent()).trim();
  check(secret.startsWith('whsec_'), 'the endpoint\'s secret is shown once');
  await shot(page, 'webhook-created');
  const endpointUrl = page.url();
  const paidLater = await pay(base, sk, '박지훈', 4000, 'order-1004');
  await page.goto(`${base}/dashboard/developers/webhooks`);
  await page.getByRole('link', { name: hookUrl }).click();
  check(!(await page.content()).includes(secret.slice(6)), 'the secret is not shown again');
  await reloadUntil(page, (p) => p.locator('#attempts tr.failed'), 'a failed attempt in the delivery log');
  const failedRow = page.locator('#attempts tr.failed').last();
  check((await failedRow.locator('td.answer').textContent()) === '500', 'the log shows the receiver\'s 500');
  check((await failedRow.locator('td.error-code').textContent()) === 'unexpected_status', 'and the error');
  const failedEvent = await failedRow.getAttribute('data-event');
  receiver.status = 204;
  await page.getByLabel('Event id').fill(failedEvent);
  await page.locator('#resend-submit').click();
  await page.locator('#notice').waitFor();
  await reloadUntil(page, (p) => p.locator(`#attempts tr.ok[data-event="${failedEvent}"]`), 'a successful attempt of the resent event');
  check(receiver.got.length >= 2 && receiver.got.every((r) => signatureVerifies(secret, r)), 'every delivery verifies with the secret the page showed');
  check(receiver.got.some((r) => JSON.parse(r.body).data.id === paidLater), 'the new payment\'s events arrived');
  await shot(page, 'webhook-log');
  check(page.url().startsWith(endpointUrl.split('?')[0]), 'still on the endpoint');
  log('webhook endpoint: secret once, failure logged, resend delivered and verified');

  // The events browser, by type, and one event's payload.
  await page.locator('nav.subnav').getByRole('link', { name: 'Events' }).click();
  await page.getByLabel('Type').selectOption('payment_intent.succeeded');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/type=payment_intent.succeeded/);
  check((await page.locator('#events tr[data-event]').count()) === 4, 'four payments succeeded');
  await shot(page, 'events');
  await page.locator('#events tr[data-event] a').first().click();
  check((await page.locator('#event-kind').textContent()) === 'payment_intent.succeeded', 'the event page');
  check((await page.locator('#payload').textContent()).includes(paidLater), 'its payload is the newest payment');
  await shot(page, 'event');
  receiver.server.close();
  log('events browser ok');

  // Two-factor sign-in: set up with the key the page shows, then sign in with a code.
  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  const key = (await page.locator('#totp-key').textContent()).trim();
  check(await page.locator('.qr svg').isVisible(), 'the set-up shows a QR code of the key');
  await shot(page, 'two-factor-setup');
  await page.getByLabel('Code from the app').fill(totp(key));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.locator('#recovery-codes').waitFor();
  check((await page.locator('#recovery-codes li').count()) === 10, 'ten recovery codes, shown once');
  await shot(page, 'two-factor-on');
  const enabledStep = Math.floor(Date.now() / 30_000);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByLabel('Email').fill(OWNER.email);
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
  // The code that turned it on cannot sign in again: wait for the app's next code.
  while (Math.floor(Date.now() / 30_000) <= enabledStep) await page.waitForTimeout(250);
  await page.getByLabel('Code').fill(totp(key));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Transactions' }).waitFor();
  log('two-factor sign-in ok');

  // Korean, then dark mode: each switch comes back to the same filtered page.
  await page.goto(`${base}/dashboard/transactions?range=all&type=payment`);
  await page.locator('#lang-switch').click();
  await page.waitForURL(/type=payment/);
  check((await page.locator('html').getAttribute('lang')) === 'ko', 'the switch turns the page Korean');
  await page.getByRole('heading', { name: '거래 내역' }).waitFor();
  check((await page.locator('#total-count').textContent()) === '4', 'with the same filter');
  check((await page.locator('table.list span.status').first().textContent()) === '성공', 'statuses in Korean words too');
  await shot(page, 'korean');
  await page.locator('#theme-toggle').click();
  await page.waitForURL(/type=payment/);
  check((await page.locator('html').getAttribute('data-theme')) === 'dark', 'the toggle turns the page dark');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(background === 'rgb(17, 20, 24)', `the dark background is drawn (${background})`);
  await shot(page, 'korean-dark');
  log('Korean and dark mode ok');

  check(problems.length === 0, problems.join('\n'));
  await context.close();
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-dashboard-'));
  let server = null;
  let browser = null;
  try {
    server = startServer(dir, (output) => {
      const base = output.match(/API base URL\s+(\S+)\/v1/);
      return base && /Dashboard sign-in/.test(output) ? { base: base[1] } : null;
    }, { PAYGATE_WEBHOOK_ALLOW_PRIVATE: 'true' });
    const { base } = await server.ready;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    await run(base, browser);
    log('ok');
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server && server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error('[dashboard-test] FAILED:', e instanceof StepFailed ? e.message : e);
  process.exit(1);
});

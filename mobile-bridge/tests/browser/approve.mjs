// A customer approves a payment on a phone: headless Chromium (Debian's /usr/bin/chromium, never a
// downloaded one) at a phone viewport against the real binary (`target/debug/paygate serve`) on a
// free port over a fresh SQLite file.
//
//   node approve.mjs              the whole flow: page, sign in, wallet, approve, paid page
//   node approve.mjs --page-only  only the approval page and its screenshot (no wallet API needed)
//
// Screenshots: target/artifacts/approval-page.png and target/artifacts/approval-success.png.
// Exits non-zero on any failed step; the server is always stopped.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS, CHROMIUM, StepFailed, check, rest, startServer as startPaygate, stopServer } from '../../../crates/test-support/js/server.mjs';

const PAGE_ONLY = process.argv.includes('--page-only');
const STEP_TIMEOUT = 15_000;

const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const CUSTOMER = { email: `browser-${Date.now()}@example.test`, password: 'correct horse battery staple' };

const log = (...args) => console.log('[browser-test]', ...args);

/** Starts `paygate serve`; resolves with its base URL and the first-run merchant's secret key. */
function startServer(dir) {
  return startPaygate(dir, (output) => {
    const base = output.match(/API base URL\s+(\S+)\/v1/);
    const secret = output.match(/^\s+secret\s+(sk_test_\S+)/m);
    return base && secret ? { base: base[1], sk: secret[1] } : null;
  });
}

// --- the flow -----------------------------------------------------------------------------------

async function run(base, sk, browser) {
  const created = await rest(base, 'POST', '/v1/payment_intents', {
    token: sk,
    body: { amount: 12000, currency: 'KRW', merchant_order_id: 'browser-1', order_name: '원두 1kg', customer_name: 'Browser Test' },
  });
  check(created.status === 201, `creating the intent answered ${created.status}: ${created.text}`);
  const intent = created.json;
  const url = intent.next_action && intent.next_action.url;
  check(url && url.startsWith(`${base}/p/`), `next_action.url is not an approval link: ${url}`);
  log(`intent ${intent.id}, approval link ${url.replace(/\/p\/.*/, '/p/…')}`);

  if (!PAGE_ONLY) {
    const signedUp = await rest(base, 'POST', '/wallet/v1/customers', { body: CUSTOMER });
    check(signedUp.status === 201, `signing up the wallet customer answered ${signedUp.status}: ${signedUp.text}`);
    log(`wallet customer ${signedUp.json.customer && signedUp.json.customer.id}`);
  }

  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 3,
    isMobile: true,
    hasTouch: true,
    userAgent: IPHONE_UA,
    locale: 'ko-KR',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });

  const opened = await page.goto(url, { waitUntil: 'load' });
  check(opened && opened.status() === 200, `the approval page answered ${opened && opened.status()}`);
  await page.getByText('₩12,000', { exact: true }).waitFor({ state: 'visible' });
  await page.getByText('Demo Shop', { exact: true }).waitFor({ state: 'visible' });
  await page.getByText('원두 1kg', { exact: true }).waitFor({ state: 'visible' });
  check((await page.locator('html').getAttribute('lang')) === 'ko', 'a Korean phone gets the Korean page');
  // The script runs under the CSP: it shows the sign-in form and ticks the countdown.
  await page.locator('#auth-form').waitFor({ state: 'visible' });
  const first = await page.locator('#countdown').textContent();
  check(/^\d\d:\d\d$/.test(first), `the countdown reads ${first}`);
  await page.waitForFunction((before) => document.getElementById('countdown').textContent !== before, first, { timeout: 5_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'approval-page.png'), fullPage: true });
  log('approval page ok: target/artifacts/approval-page.png');
  check(problems.length === 0, problems.join('\n'));
  if (PAGE_ONLY) {
    await context.close();
    return;
  }

  await page.locator('#identifier').fill(CUSTOMER.email);
  await page.locator('#password').fill(CUSTOMER.password);
  await page.locator('#auth-submit').tap();
  await failOnMessage(page, page.locator('#sources').waitFor({ state: 'visible' }), 'signing in');
  const wallets = page.locator('input[name="funding_source"][data-type="wallet"]');
  // The customer has KRW and USD test wallets; only the one in the payment's currency is offered.
  check((await wallets.count()) === 1, `exactly one wallet can pay a KRW payment (found ${await wallets.count()})`);
  check(await page.getByText('지갑 KRW (테스트)', { exact: true }).isVisible(), 'the wallet is labelled in Korean on a Korean phone');
  const wallet = wallets.first();
  await wallet.tap();
  check(await wallet.isChecked(), 'the wallet is chosen');
  check(await page.locator('#approve').isEnabled(), 'Approve is enabled once a funding source is chosen');
  await page.screenshot({ path: join(ARTIFACTS, 'approval-signed-in.png'), fullPage: true });

  await page.locator('#approve').tap();
  await failOnMessage(page, page.locator('[data-outcome="paid"]').waitFor({ state: 'visible' }), 'approving');
  await page.getByText('₩12,000', { exact: true }).waitFor({ state: 'visible' });
  await page.screenshot({ path: join(ARTIFACTS, 'approval-success.png'), fullPage: true });
  log('paid page ok: target/artifacts/approval-success.png');

  const after = await rest(base, 'GET', `/v1/payment_intents/${intent.id}`, { token: sk });
  check(after.json && after.json.status === 'succeeded', `the merchant sees ${after.json && after.json.status}, not succeeded`);
  check(problems.length === 0, problems.join('\n'));
  await context.close();
}

/** Waits for `done`, failing at once with the page's error message if one shows first. */
async function failOnMessage(page, done, what) {
  const message = page.locator('#message:not([hidden])');
  const shown = message.waitFor({ state: 'visible' }).then(async () => {
    throw new StepFailed(`${what} failed; the page says: ${await message.textContent()}`);
  });
  try {
    await Promise.race([done, shown]);
  } finally {
    shown.catch(() => {});
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-browser-'));
  let server = null;
  let browser = null;
  const stop = async () => {
    if (browser) await browser.close().catch(() => {});
    await stopServer(server && server.child);
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => { stop().finally(() => process.exit(130)); });
  }
  try {
    server = startServer(dir);
    const { base, sk } = await server.ready;
    log(`server at ${base}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    await run(base, sk, browser);
    log(PAGE_ONLY ? 'passed (page only)' : 'passed');
  } catch (e) {
    console.error('[browser-test] FAILED:', e instanceof StepFailed ? e.message : e);
    process.exitCode = 1;
  } finally {
    await stop();
  }
}

await main();

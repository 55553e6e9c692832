// The built WebAssembly module and loaders (sdk-wasm/dist/), in Node: the state machine, the QR
// code, amounts and texts as the browser gets them, and an import where there is no window.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { initSync, Payment, format_amount, qr_svg, texts, client_secret_intent, is_publishable_key, intent_event_types } from "../dist/paygate_sdk.js";

initSync({ module: readFileSync(new URL("../dist/paygate_sdk_bg.wasm", import.meta.url)) });

const ID = "pi_whnimqZ5FKpLdhZRNPmrvqpE";
const SECRET = `${ID}_secret_272122afc7dd821a167af2b7418e82c7403bd7ef`;

function intent(status, extra = {}) {
  return {
    id: ID, object: "payment_intent", livemode: false, status, amount: 12000, currency: "KRW", order_name: 'Beans "house" \\ blend',
    confirm_mode: "manual",
    next_action: status === "requires_action"
      ? { type: "open_url", url: "https://pay.example.com/p/3W5Wcksvral2T3oL1n1X88UyebMEELmE", app_url: "paygate://p/3W5Wcksvral2T3oL1n1X88UyebMEELmE",
          android_intent_url: "intent://p/3W5W#Intent;end", qr_code_url: "https://pay.example.com/p/3W5W/qr.svg" }
      : null,
    failure_code: null, failure_message: null, created_at: "2026-12-02T04:36:10.312Z", expires_at: "2026-12-02T04:51:10.312Z", ...extra,
  };
}

function event(sequence, type, status) {
  return JSON.stringify({ id: `evt_${String(sequence).padStart(24, "0")}`, object: "event", livemode: false, sequence, type, data: intent(status), created_at: "2026-12-02T04:36:11.000Z" });
}

test("a payment is followed from the QR code to its outcome, replays ignored", () => {
  const p = new Payment(JSON.stringify(intent("requires_action")), false, "en");
  const start = JSON.parse(p.view(Date.parse("2026-12-02T04:36:10.312Z")));
  assert.equal(start.step, "waiting_for_scan");
  assert.equal(start.amount, "₩12,000");
  assert.equal(start.remaining, "15:00");
  assert.equal(start.order_name, 'Beans "house" \\ blend');
  assert.equal(start.url, "https://pay.example.com/p/3W5Wcksvral2T3oL1n1X88UyebMEELmE");
  assert.equal(p.apply_event(event(2, "payment_intent.scanned", "requires_action")), true);
  assert.equal(JSON.parse(p.view(0)).status_text, "Opened on your phone");
  assert.equal(p.apply_event(event(2, "payment_intent.scanned", "requires_action")), false, "a replay changes nothing");
  assert.equal(p.apply_event(event(3, "payment_intent.processing", "processing")), true);
  assert.equal(p.apply_event(event(4, "payment_intent.requires_confirmation", "requires_confirmation")), true);
  assert.equal(p.outcome(), "requires_confirmation");
  assert.equal(p.apply_event(event(5, "payment_intent.succeeded", "succeeded")), false, "nothing after the end");
  assert.equal(p.last_event_id(), "evt_000000000000000000000004");
});

test("a checkout that waits for the confirmation ends at succeeded, and status reads only move forward", () => {
  const p = new Payment(JSON.stringify(intent("requires_action")), true, "ko");
  p.apply_event(event(4, "payment_intent.requires_confirmation", "requires_confirmation"));
  assert.equal(JSON.parse(p.view(0)).step, "confirming");
  assert.equal(p.apply_status(JSON.stringify(intent("processing"))), false);
  assert.equal(p.apply_status(JSON.stringify(intent("succeeded"))), true);
  const view = JSON.parse(p.view(0));
  assert.equal(view.outcome, "succeeded");
  assert.equal(view.status_text, "결제 완료");
  assert.equal(view.url, null);
});

test("garbage frames are refused with an error, not a panic", () => {
  const p = new Payment(JSON.stringify(intent("requires_action")), false, "en");
  assert.throws(() => p.apply_event("{nope"));
  assert.throws(() => p.apply_event(JSON.stringify({ id: "evt_1", sequence: "x" })));
  assert.throws(() => new Payment("[]", false, "en"));
  assert.equal(JSON.parse(p.view(0)).step, "waiting_for_scan");
});

test("the QR code is an SVG without inline styles, amounts and texts follow the locale", () => {
  const svg = qr_svg("https://pay.example.com/p/3W5Wcksvral2T3oL1n1X88UyebMEELmE");
  assert.match(svg, /^<\?xml[^>]*\?><svg /);
  assert.doesNotMatch(svg, /style/);
  assert.equal(qr_svg("x".repeat(8000)), undefined);
  assert.equal(format_amount(1200, "USD", "en"), "$12.00");
  assert.equal(format_amount(1200, "USD", "ko"), "US$12.00");
  assert.equal(format_amount(12000, "KRW", "ko-KR"), "₩12,000");
  assert.throws(() => format_amount(1, "XYZ", "en"));
  assert.equal(JSON.parse(texts("ko")).lang, "ko");
  assert.equal(JSON.parse(texts("fr")).lang, "en");
});

test("keys and client secrets are checked for shape, and the stream's types are the intent's", () => {
  assert.equal(client_secret_intent(SECRET), ID);
  assert.equal(client_secret_intent("pi_1_secret_2"), undefined);
  assert.equal(is_publishable_key("pk_test_" + "0a".repeat(32)), true);
  assert.equal(is_publishable_key("sk_test_" + "0a".repeat(32)), false);
  assert.ok(intent_event_types().split(",").includes("payment_intent.scanned"));
});

test("importing the ES module where there is no window does not throw, and load() says why it cannot run", async () => {
  const sdk = await import("../dist/paygate.mjs");
  assert.equal(typeof sdk.load, "function");
  assert.equal(sdk.default.version, JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
  await assert.rejects(sdk.load("pk_test_" + "0a".repeat(32)), (e) => e instanceof sdk.PaygateError && e.code === "unsupported_environment");
});

test("the classic script does nothing without a window", async () => {
  const vm = await import("node:vm");
  const context = vm.createContext({});
  vm.runInContext(readFileSync(new URL("../dist/paygate.js", import.meta.url), "utf8"), context);
  assert.equal(context.Paygate, undefined);
});

// Paygate web SDK: Paygate.load(publishableKey) then pay({ clientSecret, container }).

/** How a payment ended, as pay() and resume() resolve. */
export type PaymentStatus = "succeeded" | "requires_confirmation" | "failed" | "canceled" | "expired";

/** What the status line says while the payment runs, then its outcome. */
export type PaymentStep = "waiting_for_scan" | "scanned" | "processing" | "confirming" | PaymentStatus;

/** The intent as a checkout may see it (the gateway's `PublicPaymentIntent`). */
export interface PublicPaymentIntent {
  id: string;
  object: "payment_intent";
  livemode: boolean;
  status: "requires_action" | "processing" | "requires_confirmation" | "succeeded" | "partially_refunded" | "refunded" | "failed" | "canceled" | "expired";
  /** Minor units of `currency` (KRW has none). */
  amount: number;
  currency: "KRW" | "USD" | "EUR" | "JPY" | "GBP" | "CNY" | "SGD";
  order_name: string;
  confirm_mode: "automatic" | "manual";
  next_action: { type: "open_url"; url: string; app_url: string; android_intent_url: string; qr_code_url: string } | null;
  failure_code: string | null;
  failure_message: string | null;
  created_at: string;
  expires_at: string;
}

export interface PaymentResult {
  status: PaymentStatus;
  paymentIntent: PublicPaymentIntent;
}

export interface PaymentState {
  step: PaymentStep;
  /** The status line, in the SDK's locale. */
  statusText: string;
  outcome: PaymentStatus | null;
  paymentIntent: PublicPaymentIntent;
}

export interface LoadOptions {
  /** "ko" or "en" (default: the browser's language). */
  locale?: string;
  /** The gateway's origin, when the SDK is not loaded from it (npm). */
  gateway?: string;
}

export interface PayOptions {
  /** The client_secret your server got when it created the payment intent. */
  clientSecret: string;
  /** Where the checkout box goes: an element, or a selector. */
  container: string | Element;
  /** "qr" (desktop), "link" (a pay button that opens the wallet app), or "auto" (default). */
  mode?: "qr" | "link" | "auto";
  /** Called at each step. */
  onState?: (state: PaymentState) => void;
  /** Manual confirmation: keep following after the approval until your server confirms. */
  waitForConfirmation?: boolean;
  /** "poll" forces the polling fallback (default: the event stream). */
  transport?: "stream" | "poll";
}

export interface ResumeOptions {
  /** Default: the page URL's payment_intent_client_secret (the approval page adds it to return_url). */
  clientSecret?: string;
  onState?: (state: PaymentState) => void;
  waitForConfirmation?: boolean;
  transport?: "stream" | "poll";
}

export interface Checkout {
  pay(options: PayOptions): Promise<PaymentResult>;
  resume(options?: ResumeOptions): Promise<PaymentResult>;
}

/** Misuse: a bad key, a wrong client secret, an unknown intent, a missing container. */
export declare class PaygateError extends Error {
  readonly code: string;
  constructor(code: string, message: string);
}

export declare function load(publishableKey: string, options?: LoadOptions): Promise<Checkout>;
export declare const version: string;

declare const Paygate: { load: typeof load; PaygateError: typeof PaygateError; version: string };
export default Paygate;

// A merchant's checkout in TypeScript: compiled with `tsc --noEmit` against the package's
// declarations (sdk-wasm/dist/paygate.d.ts, through package.json's exports), never run.
import Paygate, { load, PaygateError, type PaymentResult, type PaymentState } from "@paygate/sdk";

async function checkout(clientSecret: string): Promise<string> {
  const pg = await load("pk_test_0000000000000000000000000000000000000000000000000000000000000000", { locale: "ko" });
  try {
    const result: PaymentResult = await pg.pay({
      clientSecret,
      container: "#pay",
      mode: "auto",
      waitForConfirmation: true,
      onState: (state: PaymentState) => console.log(state.step, state.statusText),
    });
    switch (result.status) {
      case "succeeded":
        return `paid ${result.paymentIntent.amount} ${result.paymentIntent.currency}`;
      case "requires_confirmation":
      case "failed":
      case "canceled":
      case "expired":
        return result.status;
    }
  } catch (e) {
    if (e instanceof PaygateError) return `misuse: ${e.code}`;
    throw e;
  }
}

async function returned(): Promise<void> {
  const pg = await Paygate.load("pk_test_0000000000000000000000000000000000000000000000000000000000000000");
  const { status } = await pg.resume();
  console.log(status, Paygate.version);
}

void checkout;
void returned;

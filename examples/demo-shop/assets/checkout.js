// The pay page's script. It hands the order's payment intent to the Paygate SDK (loaded by
// the page from the gateway) and, once the SDK says how the payment ended, goes to the order
// page, whose status the shop's server decides from the gateway, never from this script.
// The page policy lets scripts connect to the gateway only, so this script never fetches the
// shop: it navigates, and the "New code" button is a plain form post.
(function () {
  "use strict";

  var container = document.getElementById("pay");
  if (!container) return;
  var step = document.getElementById("pay-step");
  var result = document.getElementById("pay-result");
  var newCode = document.getElementById("new-code-form");
  var data = container.dataset;

  function show(message, status) {
    result.textContent = message;
    result.setAttribute("data-status", status);
    result.hidden = false;
  }

  function offerNewCode() {
    if (newCode) newCode.hidden = false;
  }

  // The SDK reports each step (waiting_for_scan, scanned, processing, confirming, then the
  // outcome); its own status line says it to the customer, so the shop only records it.
  function onState(state) {
    step.setAttribute("data-state", state.step);
    step.textContent = "";
  }

  async function run() {
    var Paygate = window.Paygate;
    if (!Paygate || typeof Paygate.load !== "function") {
      step.textContent = "";
      show("The payment form could not be loaded from the payment gateway. Please reload the page or try again later.", "sdk_missing");
      return;
    }
    var pg = await Paygate.load(data.publishableKey, { locale: data.locale });
    // Manual confirmation: the shop's server confirms on the webhook; wait for it here.
    var outcome = await pg.pay({ clientSecret: data.clientSecret, container: "#pay", onState: onState, waitForConfirmation: true });
    var status = outcome && outcome.status;
    switch (status) {
      case "succeeded":
        show("Paid. Thank you! Your order is confirmed.", status);
        break;
      case "requires_confirmation":
        show("Payment approved. The shop is confirming it…", status);
        break;
      case "failed":
        show("The payment did not go through. Get a new code to try again.", status);
        offerNewCode();
        break;
      case "expired":
        show("The code expired. Get a new code to try again.", status);
        offerNewCode();
        break;
      case "canceled":
        show("This payment was canceled. See the order for its status.", status);
        break;
      default:
        show("The payment ended unexpectedly. See the order for its status.", "unknown");
    }
  }

  run().catch(function (err) {
    show("The payment could not start: " + (err && err.message ? err.message : String(err)), "error");
    offerNewCode();
  });
})();

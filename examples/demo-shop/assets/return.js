// The page a phone comes back to after the approval page (the intent's return_url). The SDK's
// resume() reads the client secret the gateway added to this page's URL and resolves with the
// payment's outcome; the order's status is still the shop server's to decide.
(function () {
  "use strict";

  var box = document.getElementById("resume");
  var result = document.getElementById("resume-result");
  if (!box || !result) return;

  function show(message, status) {
    result.textContent = message;
    result.setAttribute("data-status", status);
  }

  async function run() {
    var Paygate = window.Paygate;
    if (!Paygate || typeof Paygate.load !== "function") {
      show("The payment gateway could not be reached. See the order for its status.", "sdk_missing");
      return;
    }
    var pg = await Paygate.load(box.dataset.publishableKey, { locale: box.dataset.locale });
    var outcome = await pg.resume({ waitForConfirmation: true });
    switch (outcome.status) {
      case "succeeded":
        show("Paid. Thank you! Your order is confirmed.", "succeeded");
        break;
      case "requires_confirmation":
        show("Payment approved. The shop is confirming it…", "requires_confirmation");
        break;
      case "failed":
        show("The payment did not go through.", "failed");
        break;
      case "expired":
        show("The code expired before the payment.", "expired");
        break;
      case "canceled":
        show("This payment was canceled.", "canceled");
        break;
      default:
        show("See the order for its status.", "unknown");
    }
  }

  run().catch(function (err) {
    show("Could not check the payment: " + (err && err.code ? err.code : String(err)), "error");
  });
})();

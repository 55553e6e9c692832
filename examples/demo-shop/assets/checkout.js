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

  // onState may hand a step name or an object describing it.
  function stepName(s) {
    if (typeof s === "string") return s;
    if (s && typeof s === "object") return String(s.step || s.state || s.status || s.type || "");
    return "";
  }

  function describe(name) {
    switch (name) {
      case "requires_action":
      case "waiting":
        return "Scan the code with your phone, or open the link, and approve the payment.";
      case "scanned":
        return "Code scanned: approve the payment on your phone.";
      case "processing":
        return "Processing the payment…";
      case "requires_confirmation":
        return "Approved: the shop is confirming your payment…";
      case "succeeded":
        return "Paid.";
      default:
        return name ? "Payment: " + name.replace(/_/g, " ") : "";
    }
  }

  function onState(s) {
    var name = stepName(s);
    step.setAttribute("data-state", name);
    step.textContent = describe(name);
  }

  async function run() {
    var Paygate = window.Paygate;
    if (!Paygate || typeof Paygate.load !== "function") {
      step.textContent = "";
      show("The payment form could not be loaded from the payment gateway. Please reload the page or try again later.", "sdk_missing");
      return;
    }
    var pg = await Paygate.load(data.publishableKey, { locale: data.locale });
    var outcome = await pg.pay({ clientSecret: data.clientSecret, container: "#pay", onState: onState });
    var status = outcome && outcome.status;
    switch (status) {
      case "succeeded":
      case "requires_confirmation":
        show("Payment approved. Checking it with the shop…", status);
        window.location.assign(data.orderUrl);
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

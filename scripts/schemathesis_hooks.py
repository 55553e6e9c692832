"""schemathesis hooks for scripts/test-schemathesis.

Two checks stand in for schemathesis's own (both turned off in schemathesis.toml).

The first replaces schemathesis's own `positive_data_acceptance` (turned off in
schemathesis.toml): a schema-valid request must not be refused with 400, 405, 406, 415 or 422,
except with one of the error codes below. Each names a rule that depends on the state of the
server, not on the request's shape, so no schema can say it (the README's error table has each
code). Everything else the built-in check would fail still fails, with its own report (ST202).
"""

import json

import schemathesis
from schemathesis.specs.openapi.checks import ensure_resource_availability as builtin_availability
from schemathesis.specs.openapi.checks import positive_data_acceptance as builtin

# Whatever the operation: a key already used with another body (the generator reuses short
# keys), a cursor this server did not issue, a Last-Event-ID that names no event of the stream.
ANYWHERE = {"idempotency_key_reused", "invalid_cursor", "invalid_last_event_id"}

# Per operation: refusals that depend on the object the request is about.
BY_OPERATION = {
    # The confirm amount must equal the intent's: the anti-tamper check.
    "POST /v1/payment_intents/{id}/confirm": {"amount_mismatch"},
    # More than the intent still has to refund.
    "POST /v1/refunds": {"refund_exceeds_captured"},
    # A host that is internal (loopback, private, ...), refused unless webhook_allow_private.
    "POST /v1/webhook_endpoints": {"url_not_allowed"},
    "POST /v1/webhook_endpoints/{id}": {"url_not_allowed"},
    # The funding source's currency or mode differs from the payment's.
    "POST /wallet/v1/approvals/{code}/approve": {"funding_source_currency_mismatch", "funding_source_mode_mismatch"},
    # The wallet would hold more than 100,000,000 minor units.
    "POST /wallet/v1/wallets/{id}/top_ups": {"wallet_limit_exceeded"},
    # An account locked after 10 failed sign-ins in a row.
    "POST /wallet/v1/sessions": {"account_locked"},
}


def error_field(response, field):
    """A field of the error body (`code`, `message`), or None when the answer has none."""
    try:
        return json.loads(response.content)["error"][field]
    except (ValueError, KeyError, TypeError):
        return None


@schemathesis.check
def positive_data_acceptance_but_state_rules(ctx, response, case):
    """Schema-valid requests are accepted, unless a rule about the server's state refuses them."""
    try:
        return builtin(ctx, response, case)
    except AssertionError:
        code = error_field(response, "code")
        if code in ANYWHERE or code in BY_OPERATION.get(case.operation.label, set()):
            return None
        raise


# The second replaces `ensure_resource_availability` (ST302, stateful): after a link from a POST
# that made or changed an object, a request whose path and query come from the link must not
# answer 404. It reads any 404 that way, also one about an object named in the body, which the
# generator draws at random rather than from a link: a resend's event. Those are let through;
# a 404 about the linked endpoint itself still fails.
BODY_OBJECT_MISSING = {
    "POST /v1/webhook_endpoints/{id}/resend": "No such event.",
}


@schemathesis.check
def ensure_resource_availability_of_linked_objects(ctx, response, case):
    """An object just made is there, for the requests its links lead to."""
    try:
        return builtin_availability(ctx, response, case)
    except AssertionError:
        expected = BODY_OBJECT_MISSING.get(case.operation.label)
        if expected is not None and error_field(response, "message") == expected:
            return None
        raise

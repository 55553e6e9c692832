"""Verifies webhook deliveries with the `standardwebhooks` package (PyPI), an implementation
independent of ours. Reads a JSON list of {"secret", "headers", "body"} on stdin and prints a
JSON list with "ok" or "rejected: <reason>" for each."""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

results = []
for case in json.load(sys.stdin):
    try:
        Webhook(case["secret"]).verify(case["body"].encode("utf-8"), case["headers"], json_parse=False)
        results.append("ok")
    except WebhookVerificationError as error:
        results.append(f"rejected: {error}")
print(json.dumps(results))

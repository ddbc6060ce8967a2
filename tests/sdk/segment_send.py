"""Send events to Percorso with the real Segment Python SDK.

Usage: segment_send.py HOST WRITE_KEY USER_PREFIX COUNT
Prints one JSON object: {"sent": [messageId, ...], "errors": [...]}.
"""
import json
import sys

import segment.analytics as analytics

host, write_key, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
errors = []


def on_error(error, items):
    errors.append(str(error))


client = analytics.Client(write_key, host=host, on_error=on_error, max_retries=3, sync_mode=False, gzip=True)
sent = []


def record(result):
    # Each call returns (success, message); the message carries its messageId.
    success, message = result
    if success:
        sent.append(message["messageId"])


for i in range(count):
    user = f"{prefix}-{i % 7}"
    kind = i % 6
    if kind == 0:
        record(client.identify(user, {"email": f"{user}@example.com", "plan": "pro"}))
    elif kind == 1:
        record(client.track(user, "Order Completed", {"revenue": 10 + i, "currency": "EUR"}))
    elif kind == 2:
        record(client.page(user, "Docs", "Getting started", {"url": "https://example.com/docs"}))
    elif kind == 3:
        record(client.screen(user, "App", "Home", {"tab": "feed"}))
    elif kind == 4:
        record(client.group(user, f"company-{i % 3}", {"name": "Acme"}))
    else:
        record(client.alias(f"anon-{prefix}-{i}", user))
client.flush()
client.join()
print(json.dumps({"sent": sent, "errors": errors}))

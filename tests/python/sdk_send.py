"""Send events to Percorso with a real, unmodified analytics SDK.

Usage: sdk_send.py segment|rudderstack HOST WRITE_KEY USER_PREFIX COUNT
Prints one JSON object: {"sent": [messageId, ...], "errors": [...]}.
"""
import json
import sys

sdk, host, write_key, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
if sdk == "segment":
    from segment.analytics import Client
elif sdk == "rudderstack":
    from rudderstack.analytics.client import Client
else:
    sys.exit(f"unknown SDK {sdk}")
errors = []


def on_error(error, items):
    errors.append(str(error))


client = Client(write_key, host=host, on_error=on_error, max_retries=3, sync_mode=False, gzip=True)
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

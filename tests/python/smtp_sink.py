"""A real SMTP server (aiosmtpd) for end-to-end tests.

Usage: smtp_sink.py PORT_FILE
Listens on 127.0.0.1 on a free port, writes the port to PORT_FILE once
ready, and prints one JSON line per message received: the envelope
(mail_from, rcpt_tos) and the parsed message (Message-ID, From, To,
Subject, text and HTML parts). Runs until killed.
"""
import asyncio
import json
import socket
import sys
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller


class Recorder:
    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        parts = {"text": None, "html": None}
        for part in message.walk():
            kind = part.get_content_type()
            if kind == "text/plain" and parts["text"] is None:
                parts["text"] = part.get_content()
            elif kind == "text/html" and parts["html"] is None:
                parts["html"] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": message["Message-ID"],
            "from": message["From"],
            "to": message["To"],
            "subject": message["Subject"],
            "text": parts["text"],
            "html": parts["html"],
        }
        print(json.dumps(record), flush=True)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    controller = Controller(Recorder(), hostname="127.0.0.1", port=port)
    controller.start()
    with open(sys.argv[1], "w") as f:
        f.write(str(port))
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Serve moto (the local AWS emulator) with one request at a time.

`moto_server` runs werkzeug with a thread per request, and moto's DynamoDB backend does not lock
an item between evaluating a condition expression and applying the write: two concurrent
conditional UpdateItems can both pass. Real DynamoDB applies conditional writes to one item
atomically, and our rate limits and idempotency rely on that. Serving requests one at a time
restores that guarantee, so tests of exact limits under concurrency are deterministic.

Usage: serve.py [--host 127.0.0.1] [--port 5000]
"""

import argparse
import os
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # HTTP/1.1 keep-alive lets the SDK reuse connections; requests are still served one by one.
    WSGIRequestHandler.protocol_version = "HTTP/1.1"
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()

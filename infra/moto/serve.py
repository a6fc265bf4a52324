#!/usr/bin/env python3
"""Serve moto (the local AWS emulator), applying one request at a time.

`moto_server` runs werkzeug with a thread per request, and moto's DynamoDB backend does not lock
an item between evaluating a condition expression and applying the write: two concurrent
conditional UpdateItems can both pass. Real DynamoDB applies conditional writes to one item
atomically, and our rate limits and idempotency rely on that. Applying requests one at a time
restores that guarantee, so tests of exact limits under concurrency are deterministic.

Connections are still accepted and read concurrently (a thread each, a deep listen backlog): a
single-threaded server serves one keep-alive connection until its client lets go, so under a
burst of 200 parallel requests the others sat unaccepted past the SDK's 3.1 s connect timeout
and came back as errors. Only the application call is serialised, behind one lock.

moto's TransactWriteItems deep-copies the whole table (its rollback copy) once per operation
naming it: a 100-operation transaction copied the table 100 times, so batched writes ran in
seconds each and the server's memory grew by gigabytes. One copy per table per transaction
rolls back the same; `one_rollback_copy` makes it so.

Usage: serve.py [--host 127.0.0.1] [--port 5000]
"""

import argparse
import os
import signal
import sys
import copy
import threading

import moto.dynamodb.models as dynamodb_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, run_simple


def serialised(app):
    """The WSGI app behind one lock, its body produced before the lock is let go."""
    lock = threading.Lock()

    def call(environ, start_response):
        with lock:
            body = app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()

    return call


class _OneCopyPerTable:
    """`copy` as moto's DynamoDB models module sees it: inside a transaction, a table is
    deep-copied once and that copy answered again (requests are serialised, so one memo)."""

    memo = None

    def deepcopy(self, obj, memo=None):
        if self.memo is not None and isinstance(obj, dynamodb_models.Table):
            if id(obj) not in self.memo:
                self.memo[id(obj)] = copy.deepcopy(obj)
            return self.memo[id(obj)]
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


def one_rollback_copy():
    shim = _OneCopyPerTable()
    dynamodb_models.copy = shim
    backend = dynamodb_models.DynamoDBBackend
    transact = backend.transact_write_items

    def transact_write_items(self, transact_items):
        shim.memo = {}
        try:
            return transact(self, transact_items)
        finally:
            shim.memo = None

    backend.transact_write_items = transact_write_items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # HTTP/1.1 keep-alive lets the SDK reuse connections; requests are still applied one by one.
    WSGIRequestHandler.protocol_version = "HTTP/1.1"
    BaseWSGIServer.request_queue_size = 1024
    one_rollback_copy()
    app = serialised(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()

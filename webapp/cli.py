"""The `gongjian` console script: the engine's commands plus `serve`, which needs the web app.

`serve` lives here, not in the engine, so that imports keep flowing one way
(webapp → engine): the engine's CLI never imports the web layer.
"""

from __future__ import annotations

import argparse
import functools
import sys
import threading
from collections.abc import Sequence

from werkzeug.serving import make_server

from engine.ops import cli as engine_cli
from engine.ops import worker
from engine.ops.platform import Platform

from . import create_app


def cmd_serve(platform: Platform, args: argparse.Namespace) -> int:
    """Serve the web app (threaded werkzeug) with the background worker in a thread."""
    # Plain HTTP on the loopback (`make run`) needs a non-Secure cookie; anywhere else the
    # cookie is Secure and a TLS proxy is expected in front.
    loopback = args.host in ("127.0.0.1", "localhost", "::1")
    app = create_app({"DATABASE_URL": platform.database_url,
                      "WEBHOOK_ALLOW_HOSTS": platform.webhook_targets.allow_hosts,
                      "SMTP": platform.smtp,
                      "INSECURE_COOKIES": loopback and not args.secure_cookies})
    stop = threading.Event()
    background = threading.Thread(
        target=worker.run_worker, args=(platform.uow, platform.clock),
        kwargs={"poll": args.poll, "stop": stop,
                "log": functools.partial(engine_cli._log, platform.clock),
                "targets": platform.webhook_targets, "checkpoints": platform.checkpoints,
                "smtp": platform.smtp},
        name="worker", daemon=True)
    background.start()
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"Gongjian on http://{args.host}:{args.port}/ (database {platform.database_url}); "
          "Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        background.join(timeout=5)
        app.extensions["gongjian"].close()
    return 0


def add_serve(sub: argparse._SubParsersAction) -> None:
    """Add the `serve` command to the engine's commands."""
    p = sub.add_parser("serve", help="serve the web app and run the background worker")
    p.set_defaults(func=cmd_serve)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--poll", type=float, default=5.0, help="longest timer sleep in seconds")
    p.add_argument("--secure-cookies", action="store_true",
                   help="Secure session cookie even on the loopback (it always is elsewhere)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gongjian` console script."""
    return engine_cli.main(argv, parser=engine_cli.build_parser(extend=add_serve))


if __name__ == "__main__":
    sys.exit(main())

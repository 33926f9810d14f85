"""Slow clients (issue 22, finding 6): 24 slow-loris sockets do not stop the web node.

gunicorn (deploy/gunicorn.conf.py) reads requests with blocking reads in its threads: 24
sockets that each send a header line now and then held every thread and the node answered
nobody. The web node is served behind nginx with deploy/nginx/gongjian.conf, which reads
requests in its event loop with timeouts and passes gunicorn only whole requests. This test
serves the app the same way on 127.0.0.1 — gunicorn with the project's config on a throw-away
SQLite file, nginx with the shipped file (only its ports, certificate and log folder moved to
a temporary folder) — opens 24 slow-loris sockets, checks that a normal request still answers
within a few seconds, and that nginx closes the slow sockets once its header timeout is over.

It needs Debian's nginx (.ci/run installs it) and openssl; without them it is skipped.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

import load_bench  # noqa: E402

from engine.ops.platform import Platform  # noqa: E402

ROOT = Path(__file__).parents[2]
SITE = ROOT / "deploy" / "nginx" / "gongjian.conf"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
SLOW_SOCKETS = 24
FEED_EVERY = 2.0  # seconds between two header lines of a slow client
ANSWER_WITHIN = 3.0  # seconds a normal request may take while they hang on
HEADER_TIMEOUT = 10  # client_header_timeout in the shipped file

pytestmark = pytest.mark.skipif(NGINX is None or shutil.which("openssl") is None,
                                reason="needs nginx and openssl (.ci/run installs nginx)")


def _client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    return context


def _site(folder: Path, http_port: int, https_port: int, app_port: int) -> str:
    """The shipped site file with its ports and certificate moved to the test's."""
    text = SITE.read_text()
    moves = [(r"listen 80;", f"listen 127.0.0.1:{http_port};"),
             (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
             (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{app_port};"),
             (r"ssl_certificate /\S+;", f"ssl_certificate {folder}/cert.pem;"),
             (r"ssl_certificate_key /\S+;", f"ssl_certificate_key {folder}/key.pem;")]
    for pattern, replacement in moves:
        text, count = re.subn(pattern, replacement, text)
        assert count == 1, f"deploy/nginx/gongjian.conf no longer has one `{pattern}`"
    assert f"client_header_timeout {HEADER_TIMEOUT}s;" in text
    return text


def _start_nginx(folder: Path, app_port: int) -> tuple[subprocess.Popen, int]:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True,
                   timeout=60)
    http_port, https_port = load_bench.free_port(), load_bench.free_port()
    (folder / "gongjian.conf").write_text(_site(folder, http_port, https_port, app_port))
    temp = "\n".join(f"    {kind}_temp_path {folder}/{kind}_temp;"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, nginx's workers would run as nobody, who cannot enter the test's folder.
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(f"""
daemon off;
{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {folder}/nginx-access.log;
{temp}
    include {folder}/gongjian.conf;
}}
""")
    # nginx is the reverse proxy, not the platform: it keeps its own time. Under libfaketime
    # (the suite run with the date moved) its timers would never fire, so it runs without it.
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "FAKETIME", "FAKETIME_FMT", "DYLD_INSERT_LIBRARIES")}
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"),
                                "-e", str(folder / "nginx-error.log")], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return process, https_port


def _get(port: int, path: str = "/auth/login") -> tuple[int, float]:
    """A normal request through nginx: (status, seconds)."""
    started = time.monotonic()
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=ANSWER_WITHIN + 5,
                                             context=_client_tls())
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        connection.close()


def _wait_until_served(port: int, server: subprocess.Popen, folder: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, (folder / "nginx-error.log").read_text(errors="replace")
        try:
            if _get(port)[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise AssertionError("nginx did not pass a request on within 30 s:\n"
                         + (folder / "nginx-error.log").read_text(errors="replace"))


def _open_slow(port: int, n: int) -> ssl.SSLSocket:
    """A slow-loris client: a request line and one header, the rest never comes whole."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    slow = _client_tls().wrap_socket(raw, server_hostname="localhost")
    slow.sendall(f"GET /auth/login?slow={n} HTTP/1.1\r\nHost: localhost\r\n".encode())
    return slow


def _closed_by_server(slow: ssl.SSLSocket) -> bool:
    """Whether the server has given up on this socket (EOF, reset, or a 408 answer)."""
    slow.settimeout(1.0)
    try:
        data = slow.recv(1024)
    except TimeoutError:
        return False
    except OSError:  # reset, or the TLS session torn down
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408")


def test_slow_loris_sockets_leave_the_node_answering_and_are_cut_off(tmp_path):
    url = f"sqlite:///{tmp_path}/slow.db"
    platform = Platform(url)
    platform.upgrade()
    platform.close()
    # Two workers × four threads: eight threads, far fewer than the slow sockets.
    with load_bench.Gunicorn(url, str(tmp_path), workers=2) as app:
        app.wait()
        nginx, port = _start_nginx(tmp_path, app.port)
        slow: list[ssl.SSLSocket] = []
        try:
            _wait_until_served(port, nginx, tmp_path)
            started = time.monotonic()
            slow = [_open_slow(port, n) for n in range(SLOW_SOCKETS)]
            fed = 0
            answers = []
            # While they trickle in header lines, normal requests are answered at once.
            while time.monotonic() - started < HEADER_TIMEOUT - 2:
                for n, sock in enumerate(slow):
                    try:
                        sock.sendall(f"X-Slow-{fed}: {n}\r\n".encode())
                    except OSError:
                        pass
                fed += 1
                answers.append(_get(port))
                time.sleep(max(0.0, started + fed * FEED_EVERY - time.monotonic()))
            assert len(answers) >= 3
            for status, seconds in answers:
                assert status == 200 and seconds < ANSWER_WITHIN, answers
            # Past the header timeout nginx has closed every one of them.
            time.sleep(max(0.0, started + HEADER_TIMEOUT + 3 - time.monotonic()))
            still_open = [n for n, sock in enumerate(slow) if not _closed_by_server(sock)]
            assert still_open == [], f"slow sockets still open after {HEADER_TIMEOUT} s"
            status, seconds = _get(port)
            assert status == 200 and seconds < ANSWER_WITHIN
        finally:
            for sock in slow:
                sock.close()
            nginx.terminate()
            try:
                nginx.wait(timeout=15)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
    assert app.exit_code == 0, app.log_tail()
    # Each slow request ended in nginx with 408 (client_header_timeout), none reached gunicorn.
    access = (tmp_path / "nginx-access.log").read_text()
    assert len(re.findall(r'"GET /auth/login\?slow=\d+ HTTP/1.1" 408 ', access)) == SLOW_SOCKETS
    assert "slow=" not in app.log_text()

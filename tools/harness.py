"""Real Odoo servers, databases and webhook receivers for benchmarks and
fault-injection tests.

Everything here runs the real thing: ``odoo-bin`` processes (threaded or with
prefork workers) on 127.0.0.1, databases on the project's PostgreSQL, and an
HTTP receiver thread that records what it is sent. The PostgreSQL server is
the one the project's commands chose (``PGHOST``/``PGPORT``/``PGUSER``).
"""

import contextlib
import http.server
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg2
import requests
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
ADDON = "integration_gateway"
VENV = Path(os.environ.get("IG_VENV", Path.home() / ".cache/integration_gateway/venv"))
PYTHON = VENV / "bin" / "python"


def odoo_tree():
    return Path((VENV / ".odoo_tree").read_text().strip())


# -- PostgreSQL ---------------------------------------------------------------


def pg_params():
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER") or os.environ.get("USER") or "root",
    }


@contextlib.contextmanager
def pg_connection(dbname="postgres", autocommit=True):
    conn = psycopg2.connect(dbname=dbname, **pg_params())
    conn.autocommit = autocommit
    try:
        yield conn
    finally:
        conn.close()


def database_exists(name):
    with pg_connection() as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return bool(cr.fetchone())


def drop_database(name):
    with pg_connection() as conn, conn.cursor() as cr:
        cr.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


def clone_database(template, name):
    """Copies ``template`` (which nobody may be connected to) to ``name``."""
    drop_database(name)
    with pg_connection() as conn, conn.cursor() as cr:
        cr.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- Odoo ---------------------------------------------------------------------


class OdooEnv:
    """A working folder with an Odoo configuration whose addons path holds
    this addon under its technical name; removed on close."""

    def __init__(self, prefix="ig_harness_"):
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.workdir = Path(self._tmp.name)
        addons = self.workdir / "addons"
        addons.mkdir()
        (addons / ADDON).symlink_to(ROOT)
        pg = pg_params()
        self.conf = self.workdir / "odoo.conf"
        self.conf.write_text(
            "[options]\n"
            f"addons_path = {odoo_tree() / 'addons'},{addons}\n"
            f"data_dir = {self.workdir / 'data'}\n"
            f"db_host = {pg['host']}\ndb_port = {pg['port']}\ndb_user = {pg['user']}\n"
            "http_interface = 127.0.0.1\n"
            "log_level = warn\n"
        )

    def close(self):
        self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def odoo_command(self, *args):
        return [str(PYTHON), str(odoo_tree() / "odoo-bin"), "-c", str(self.conf), *args]

    def create_database(self, name, modules=ADDON):
        """A fresh database ``name`` with ``modules`` installed (about 45 s
        for this addon); raises with the end of the log when it fails."""
        drop_database(name)
        log = self.workdir / f"install-{name}.log"
        with open(log, "w") as out:
            done = subprocess.run(
                self.odoo_command("-d", name, "-i", modules, "--stop-after-init"),
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode:
            raise RuntimeError(
                f"installing {modules} into {name} failed:\n" + log.read_text()[-3000:]
            )

    def run_script(self, db, script, *args, timeout=600):
        """Runs Python ``script`` against database ``db`` in a subprocess;
        the script gets ``env`` (superuser) and ``args``, its changes are
        committed, and whatever it assigns to ``result`` (JSON-serialisable)
        is returned."""
        runner = (
            "import json, sys\n"
            "import odoo\n"
            "from odoo import api, SUPERUSER_ID\n"
            "from odoo.modules.registry import Registry\n"
            "odoo.tools.config.parse_config(['-c', sys.argv[1]])\n"
            "args = json.loads(sys.argv[3])\n"
            "result = None\n"
            "with Registry(sys.argv[2]).cursor() as cr:\n"
            "    env = api.Environment(cr, SUPERUSER_ID, {})\n"
            "    exec(compile(sys.stdin.read(), '<script>', 'exec'))\n"
            "print('\\n__RESULT__' + json.dumps(result))\n"
        )
        done = subprocess.run(
            [str(PYTHON), "-c", runner, str(self.conf), db, json.dumps(list(args))],
            input=script,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode or "__RESULT__" not in done.stdout:
            raise RuntimeError(f"script failed in {db}:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.rsplit("__RESULT__", 1)[1])

    def server(self, port=None, workers=0, cron_threads=0, db_filter=".*", args=()):
        return OdooServer(
            self, port or free_port(), workers, cron_threads, db_filter, args
        )


class OdooServer:
    """An ``odoo-bin`` process serving on 127.0.0.1:port.

    ``workers`` > 0 starts prefork workers; ``cron_threads`` cron workers or
    threads. ``kill()`` sends SIGKILL to the whole process group (workers
    included), as a crash would."""

    def __init__(self, odoo_env, port, workers, cron_threads, db_filter, args):
        self.env = odoo_env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = odoo_env.workdir / f"server-{port}.log"
        self._command = odoo_env.odoo_command(
            f"--http-port={port}",
            f"--workers={workers}",
            f"--max-cron-threads={cron_threads}",
            f"--db-filter={db_filter}",
            # Benchmarks and fault tests send many calls from one address.
            "--limit-request=100000",
            *args,
        )
        self.process = None

    def start(self, timeout=120):
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(
                self._command,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Odoo exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/web/health", timeout=2).ok:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"Odoo did not answer in {timeout} s")

    def kill(self):
        """SIGKILL to the server and every process it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- A webhook receiver ---------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST it receives.

    ``status`` (an int, or a callable taking the request number and returning
    one) is what it answers; ``delay`` seconds it waits first. ``received``
    holds ``(webhook-id, monotonic time, body)`` tuples. ``stop()`` closes
    the port so that senders get connection errors (a receiver that is
    down); ``start()`` opens it again on the same port."""

    def __init__(self, port=None, status=200, delay=0.0):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.status = status
        self.delay = delay
        self.received = []
        self._lock = threading.Lock()
        self._server = None

    def _handler(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this,
            # Nagle's algorithm holds the body until the client's delayed
            # ACK, 40 ms per request on a kept-alive connection.
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    number = len(receiver.received)
                    receiver.received.append(
                        (self.headers.get("webhook-id"), time.monotonic(), body)
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.status
                code = status(number) if callable(status) else status
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        return Handler

    def start(self):
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", self.port), self._handler()
        )
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self):
        with self._lock:
            return [webhook_id for webhook_id, _at, _body in self.received]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def percentile(values, fraction):
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]

"""Real Odoo servers, databases and webhook receivers for benchmarks and
fault-injection tests.

Everything here runs the real thing: ``odoo-bin`` processes (threaded or with
prefork workers) on 127.0.0.1, databases on the project's PostgreSQL (the one
the project's commands chose: ``PGHOST``/``PGPORT``/``PGUSER``) or on a
private cluster started for the occasion, and an HTTP receiver thread that
records what it is sent.

Ports: servers listen on ports handed out by ``allocate_port``, within
``IG_PORTS`` (``low-high``) when it is set, else wherever the system finds a
free one.
"""

import contextlib
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import requests
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
ADDON = "integration_gateway"
VENV = Path(os.environ.get("IG_VENV", Path.home() / ".cache/integration_gateway/venv"))
PYTHON = VENV / "bin" / "python"
# Lines of an Odoo log that say something went wrong.
PROBLEM_LINE = re.compile(r"^\S+ \S+ \d+ (WARNING|ERROR|CRITICAL) ")


def odoo_tree():
    return Path((VENV / ".odoo_tree").read_text().strip())


# -- ports ----------------------------------------------------------------------

_ports_lock = threading.Lock()
_ports_given = set()


def _bindable(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def allocate_port():
    """A port nobody listens on, not handed out before by this process:
    within ``IG_PORTS`` (``low-high``) when set, else any free port."""
    with _ports_lock:
        span = os.environ.get("IG_PORTS", "").strip()
        if not span:
            while True:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    port = sock.getsockname()[1]
                if port not in _ports_given:
                    _ports_given.add(port)
                    return port
        low, high = (int(part) for part in span.split("-"))
        ports = list(range(low, high + 1))
        # A random start, so that two runs sharing the span rarely collide.
        start = random.randrange(len(ports))  # noqa: S311
        for port in ports[start:] + ports[:start]:
            if port not in _ports_given and _bindable(port):
                _ports_given.add(port)
                return port
        raise RuntimeError(f"no free port left in IG_PORTS={span}")


free_port = allocate_port


# -- PostgreSQL ---------------------------------------------------------------


def pg_params():
    """The project's PostgreSQL server, as the project's commands chose it."""
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": str(os.environ.get("PGPORT", "5432")),
        "user": os.environ.get("PGUSER") or os.environ.get("USER") or "root",
    }


@contextlib.contextmanager
def pg_connection(dbname="postgres", autocommit=True, pg=None):
    conn = psycopg2.connect(dbname=dbname, **(pg or pg_params()))
    conn.autocommit = autocommit
    try:
        yield conn
    finally:
        conn.close()


def database_exists(name, pg=None):
    with pg_connection(pg=pg) as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return bool(cr.fetchone())


def drop_database(name, pg=None):
    with pg_connection(pg=pg) as conn, conn.cursor() as cr:
        cr.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


def clone_database(template, name, pg=None):
    """Copies ``template`` (which nobody may be connected to) to ``name``."""
    drop_database(name, pg=pg)
    with pg_connection(pg=pg) as conn, conn.cursor() as cr:
        cr.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )


def pg_bin():
    """The folder of the newest PostgreSQL server programs installed."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name),
    )
    if not found:
        raise RuntimeError("no PostgreSQL server programs in /usr/lib/postgresql")
    return found[-1].parent


class PrivatePostgres:
    """A PostgreSQL cluster of its own, on 127.0.0.1:``port`` with its data
    in ``directory``, that a test may restart or stop at will.

    Made with initdb on first start (role ``odoo``, trust authentication).
    PostgreSQL refuses to run as root: when root, the cluster belongs to the
    OS user ``os_user``."""

    ROLE = "odoo"

    def __init__(self, port, directory, os_user="nobody"):
        self.port = port
        self.directory = Path(directory)
        self.data = self.directory / "data"
        self.logfile = self.directory / "server.log"
        self.os_user = os_user if os.getuid() == 0 else None
        self.params = {"host": "127.0.0.1", "port": str(port), "user": self.ROLE}

    def _run(self, *command, check=True):
        if self.os_user:
            command = ("runuser", "-u", self.os_user, "--", *command)
        return subprocess.run(
            command,
            cwd="/",
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def _pg_ctl(self, action, *extra):
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off"
        )
        done = self._run(
            str(pg_bin() / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-w",
            "-o",
            options,
            *extra,
            action,
            check=False,
        )
        if done.returncode:
            log = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
            raise RuntimeError(f"pg_ctl {action} failed: {done.stderr}\n{log}")

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.os_user:
            shutil.chown(self.directory, self.os_user)
        self.directory.chmod(0o700)
        if not (self.data / "PG_VERSION").exists():
            self._run(
                str(pg_bin() / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.ROLE,
                "--auth=trust",
            )
        if not self.running():
            self._pg_ctl("start")
        return self

    def running(self):
        return (
            self._run(
                str(pg_bin() / "pg_ctl"), "-D", str(self.data), "status", check=False
            ).returncode
            == 0
        )

    def restart(self, mode="fast"):
        """Stops the server (``fast``: disconnects every client, rolls back
        their transactions) and starts it again."""
        self._pg_ctl("restart", "-m", mode)

    def stop(self, mode="fast"):
        if (self.data / "PG_VERSION").exists() and self.running():
            self._pg_ctl("stop", "-m", mode)

    def remove(self):
        self.stop(mode="immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def copy_database(self, source, name, source_pg=None):
        """Copies database ``source`` of another server into this one as
        ``name`` (pg_dump piped into pg_restore)."""
        drop_database(name, pg=self.params)
        with pg_connection(pg=self.params) as conn, conn.cursor() as cr:
            cr.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        pg = source_pg or pg_params()
        dump = subprocess.Popen(
            [
                str(pg_bin() / "pg_dump"),
                "-Fc",
                "--no-owner",
                f"--host={pg['host']}",
                f"--port={pg['port']}",
                f"--username={pg['user']}",
                source,
            ],
            stdout=subprocess.PIPE,
        )
        restore = subprocess.run(
            [
                str(pg_bin() / "pg_restore"),
                "--no-owner",
                "--exit-on-error",
                f"--host={self.params['host']}",
                f"--port={self.params['port']}",
                f"--username={self.ROLE}",
                f"--dbname={name}",
            ],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        dump.stdout.close()
        if dump.wait() or restore.returncode:
            raise RuntimeError(f"copying {source} failed: {restore.stderr[-2000:]}")


# -- Odoo ---------------------------------------------------------------------


class OdooEnv:
    """A working folder with an Odoo configuration whose addons path holds
    this addon under its technical name; removed on close. ``pg`` is the
    PostgreSQL server (``pg_params()`` by default), ``data_dir`` Odoo's data
    folder (in the working folder by default)."""

    def __init__(self, prefix="ig_harness_", pg=None, data_dir=None):
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.workdir = Path(self._tmp.name)
        self.pg = pg or pg_params()
        # Odoo's filestores; a folder that outlives the environment keeps
        # those of databases kept between runs.
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        addons = self.workdir / "addons"
        addons.mkdir()
        (addons / ADDON).symlink_to(ROOT)
        self.conf = self.workdir / "odoo.conf"
        self.conf.write_text(
            "[options]\n"
            f"addons_path = {odoo_tree() / 'addons'},{addons}\n"
            f"data_dir = {self.data_dir}\n"
            f"db_host = {self.pg['host']}\ndb_port = {self.pg['port']}\n"
            f"db_user = {self.pg['user']}\n"
            "http_interface = 127.0.0.1\n"
            "list_db = False\n"
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

    def process_env(self):
        """The environment of the Odoo processes: Odoo reads ``PGHOST``,
        ``PGPORT`` and ``PGUSER`` before its configuration file, so they
        must name this environment's server."""
        env = {
            **os.environ,
            "PGHOST": self.pg["host"],
            "PGPORT": str(self.pg["port"]),
            "PGUSER": self.pg["user"],
        }
        env.pop("PGDATABASE", None)
        return env

    def create_database(self, name, modules=ADDON):
        """A fresh database ``name`` with ``modules`` installed (about 45 s
        for this addon); raises with the end of the log when it fails."""
        return self.create_databases({name: modules})

    def create_databases(self, modules_by_name):
        """Fresh databases, installed side by side: ``{name: modules}``."""
        running = []
        for name, modules in modules_by_name.items():
            drop_database(name, pg=self.pg)
            log = self.workdir / f"install-{name}.log"
            out = open(log, "w")  # noqa: SIM115 (closed once the process ends)
            process = subprocess.Popen(
                self.odoo_command(
                    "-d", name, "-i", modules, "--stop-after-init", "--no-http"
                ),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.process_env(),
            )
            running.append((name, modules, process, out, log))
        failures = []
        for name, modules, process, out, log in running:
            process.wait()
            out.close()
            if process.returncode:
                failures.append(
                    f"installing {modules} into {name} failed:\n"
                    + log.read_text()[-3000:]
                )
        if failures:
            raise RuntimeError("\n".join(failures))

    def filestore(self, db):
        return self.data_dir / "filestore" / db

    def clone_database(self, template, name, filestore=None):
        """Copies database ``template`` to ``name`` with its filestore (the
        folder ``filestore``, by default the template's in this
        environment's data folder)."""
        clone_database(template, name, pg=self.pg)
        source = Path(filestore) if filestore else self.filestore(template)
        target = self.filestore(name)
        shutil.rmtree(target, ignore_errors=True)
        if source.is_dir():
            shutil.copytree(source, target)

    def drop_database(self, name):
        drop_database(name, pg=self.pg)
        shutil.rmtree(self.filestore(name), ignore_errors=True)

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
            env=self.process_env(),
        )
        if done.returncode or "__RESULT__" not in done.stdout:
            raise RuntimeError(f"script failed in {db}:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.rsplit("__RESULT__", 1)[1])

    def server(
        self, databases, port=None, workers=0, cron_threads=0, args=(), log=None
    ):
        """An Odoo server (not started) serving exactly ``databases``; its
        crons run on those only. ``log`` is its log file (in the working
        folder by default)."""
        return OdooServer(
            self, port or allocate_port(), workers, cron_threads, databases, args, log
        )


class OdooServer:
    """An ``odoo-bin`` process serving ``databases`` on 127.0.0.1:port.

    ``workers`` > 0 starts prefork workers; ``cron_threads`` cron workers or
    threads. ``kill()`` sends SIGKILL to the whole process group (workers
    included), as a crash would; ``start()`` after it starts the server again
    on the same port."""

    def __init__(
        self, odoo_env, port, workers, cron_threads, databases, args, log=None
    ):
        self.env = odoo_env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.databases = list(databases)
        self.log = Path(log) if log else odoo_env.workdir / f"server-{port}.log"
        # The long-polling process of prefork mode needs a port of its own.
        extra = [f"--gevent-port={allocate_port()}"] if workers else []
        self._command = odoo_env.odoo_command(
            f"--http-port={port}",
            f"--workers={workers}",
            f"--max-cron-threads={cron_threads}",
            # Without a filter, --database lists exactly what is served, and
            # the crons run on those databases only, never on others'.
            f"--database={','.join(self.databases)}",
            f"--logfile={self.log}",
            # Benchmarks and fault tests send many calls from one address.
            "--limit-request=100000",
            *extra,
            *args,
        )
        self.process = None

    def start(self, timeout=120):
        self.process = subprocess.Popen(
            self._command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=self.env.process_env(),
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Odoo exited:\n{self.log_text()[-3000:]}")
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
        # Prefork workers may outlive their master by a moment.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def problems(self):
        """The WARNING, ERROR and CRITICAL lines of the server's log."""
        return [
            line for line in self.log_text().splitlines() if PROBLEM_LINE.match(line)
        ]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- A webhook receiver ---------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One POST a receiver got."""

    webhook_id: str | None
    at: float  # time.monotonic()
    wall: float  # time.time(), to compare with times stored by Odoo
    headers: dict
    body: bytes


def _quiet_disconnects(server, request, client_address):
    # A sender that gave up (timeout, killed process) closed the connection
    # before the answer: what fault tests cause on purpose, not an error.
    exc = sys.exc_info()[1]
    if not isinstance(exc, ConnectionError):
        http.server.ThreadingHTTPServer.handle_error(server, request, client_address)


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST it receives.

    ``status`` (an int, or a callable taking the request number and returning
    one) is what it answers; ``delay`` seconds it waits first. ``received``
    holds a ``Hit`` per request. ``stop()`` closes the port so that senders
    get connection errors (a receiver that is down); ``start()`` opens it
    again on the same port."""

    def __init__(self, port=None, status=200, delay=0.0):
        self.port = port or allocate_port()
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
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died or hung up while sending (a server
                    # killed): an incomplete request, not a delivery.
                    self.close_connection = True
                    return
                hit = Hit(
                    self.headers.get("webhook-id"),
                    time.monotonic(),
                    time.time(),
                    dict(self.headers.items()),
                    body,
                )
                with receiver._lock:
                    number = len(receiver.received)
                    receiver.received.append(hit)
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
        server_class = type(
            "ReceiverServer",
            (http.server.ThreadingHTTPServer,),
            {
                "allow_reuse_address": True,
                "request_queue_size": 256,
                "handle_error": _quiet_disconnects,
            },
        )
        self._server = server_class(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def hits(self):
        with self._lock:
            return list(self.received)

    def ids(self):
        return [hit.webhook_id for hit in self.hits()]

    def reset(self):
        with self._lock:
            self.received.clear()

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


def wait_for(condition, timeout, interval=0.2, what="the condition", detail=None):
    """Calls ``condition`` until it returns something true (returned), or
    raises TimeoutError after ``timeout`` seconds, with what ``detail()``
    says then."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            message = f"{what} did not happen within {timeout} s"
            if detail is not None:
                message += f": {detail()}"
            raise TimeoutError(message)
        time.sleep(interval)

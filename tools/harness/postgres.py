"""PostgreSQL for the project's tools: connections to the project's server
(the one its commands chose: ``PGHOST``/``PGPORT``/``PGUSER``), databases
copied and dropped, and private clusters a test may restart or stop."""

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import psycopg2
from psycopg2 import sql


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

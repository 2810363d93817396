"""An Odoo configuration of its own for the project's tools: a working
folder whose addons path holds this addon, the databases it installs, and
the servers it starts (see ``odoo_server``)."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .odoo_server import OdooServer
from .paths import ADDON, PYTHON, ROOT, odoo_tree
from .ports import allocate_port
from .postgres import clone_database, drop_database, pg_params
from .scripts import run_script


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

    def run_script(self, db, fixture, *args, timeout=600):
        """Runs the fixture file ``fixture`` against database ``db``; see
        ``scripts.run_script``."""
        return run_script(self, db, fixture, *args, timeout=timeout)

    def server(
        self, databases, port=None, workers=0, cron_threads=0, args=(), log=None
    ):
        """An Odoo server (not started) serving exactly ``databases``; its
        crons run on those only. ``log`` is its log file (in the working
        folder by default)."""
        return OdooServer(
            self, port or allocate_port(), workers, cron_threads, databases, args, log
        )

"""An ``odoo-bin`` process on 127.0.0.1 that a benchmark or a fault test
starts, kills as a crash would, and starts again."""

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import requests

from .ports import allocate_port

# Lines of an Odoo log that say something went wrong.
PROBLEM_LINE = re.compile(r"^\S+ \S+ \d+ (WARNING|ERROR|CRITICAL) ")


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

    def cpu_seconds(self):
        """CPU time (user + system) used so far by the processes of the
        server's process group that are alive (the master and its workers),
        read from /proc; measure a span of work as the difference of two
        readings around it, over which no worker was recycled."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # exited meanwhile
            # The command name, in parentheses, may hold spaces.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == self.process.pid:  # pgrp
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / tick

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

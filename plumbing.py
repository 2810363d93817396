"""Database plumbing shared by every capability of the addon.

* :class:`Connections` — a process's own autocommit connections to one
  database, for one-statement work that must not ride on Odoo's pooled
  cursors (rate-limit decisions, waking the cron workers);
* :func:`own_cursor` — a cursor of its own, committed whatever becomes of the
  request's transaction (rate-limit counters, refusals, usage);
* :class:`ReadOnlyFromNextStatement` — a transaction made read-only by its
  next statement, without a round trip of its own;
* :func:`notify_cron_workers` — wakes the cron workers of a database at
  once, on a connection this process keeps;
* :func:`after_response` — work a caller must not wait for (counters kept
  on a connection of their own, waking the cron workers), done once the
  answer to the current HTTP request is sent.

Models import these from here, never from one another.
"""

import logging
import os
import threading
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
import psycopg2.sql

from odoo import http, sql_db
from odoo.tools import SQL

from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION

_logger = logging.getLogger(__name__)

# Idle connections kept per database and process; more are opened while
# more threads work at once, and closed when given back.
IDLE_CONNECTIONS = 8


class Connections:
    """This process's own connections to one database, in autocommit.

    A rate-limit decision is one statement, hence its own transaction, and
    one round trip. Odoo's pooled cursors would cost three more (the reset
    at every borrow, BEGIN, COMMIT), and the reset drops the plans
    PostgreSQL cached for the decision function, so they are not used on
    that path.
    """

    def __init__(self, dbname):
        self.dbname = dbname
        self._pid = os.getpid()
        self._idle = []
        self._lock = threading.Lock()

    @contextmanager
    def cursor(self):
        cnx = self._borrow()
        try:
            with cnx.cursor() as cr:
                yield cr
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            cnx.close()  # broken (server restarted, ...): the next call reconnects
            raise
        finally:
            self._give_back(cnx)

    def _borrow(self):
        with self._lock:
            if self._pid != os.getpid():
                # A forked worker must not use, nor close (that would end
                # the parent's sessions), the connections of its parent.
                _inherited.append(self._idle)
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        _db, info = sql_db.connection_info_for(self.dbname)
        cnx = psycopg2.connect(**info)
        cnx.set_session(
            isolation_level=psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED,
            autocommit=True,
        )
        return cnx

    def _give_back(self, cnx):
        if cnx.closed:
            return
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(cnx)
                return
        cnx.close()


_inherited = []  # connections of a parent process, kept open for it


@contextmanager
def own_cursor(dbname):
    """A cursor on a connection of its own, at READ COMMITTED, committed
    when the block ends without error and closed in any case.

    Rate-limit counters must be written whatever becomes of the request's
    transaction: a read-only cursor cannot write them, a failing request
    rolls back, and a serialization failure runs the request again."""
    with sql_db.db_connect(dbname).cursor() as cr:
        cr.connection.set_isolation_level(
            psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED
        )
        yield cr


_READ_ONLY = "SET TRANSACTION READ ONLY"


class ReadOnlyFromNextStatement:
    """Makes the transaction of the Odoo cursor ``cr`` read-only from its
    next statement on: ``SET TRANSACTION READ ONLY`` goes with that
    statement, in the same round trip, rather than alone before it.

    Until then the cursor's ``execute`` is this object's (an attribute of
    the cursor, which hides its class's method), and no statement can run
    in between. :meth:`finish` ends the wait: when no statement ran since,
    the transaction is made read-only then, in a round trip of its own, so
    that after it the transaction is read-only whatever ran. :meth:`cancel`
    gives the cursor its ``execute`` back without making anything
    read-only (for a transaction about to be rolled back)."""

    def __init__(self, cr):
        self.cr = cr
        self.pending = True
        cr.execute = self._execute

    def _execute(self, query, params=None, log_exceptions=True):
        self.cancel()
        if isinstance(query, SQL):
            query = SQL("%s; %s", SQL(_READ_ONLY), query)
        elif isinstance(query, str):
            query = f"{_READ_ONLY}; {query}"
        else:
            self.cr.execute(_READ_ONLY)
        return self.cr.execute(query, params, log_exceptions)

    def finish(self):
        if self.pending:
            self.cancel()
            self.cr.execute(_READ_ONLY)

    def cancel(self):
        if self.pending:
            self.pending = False
            del self.cr.execute


_notifier_lock = threading.Lock()
_notifier = None


def _postgres_connections():
    """This process's own connection(s) to the ``postgres`` database, where
    Odoo's cron workers listen for triggers."""
    global _notifier
    with _notifier_lock:
        if _notifier is None:
            _notifier = Connections("postgres")
        return _notifier


def notify_cron_workers(dbname):
    """Tells the cron workers that a trigger of ``dbname`` is due, as
    ``ir.cron._trigger()`` does, on a connection this process keeps (where
    Odoo opens and closes one each time)."""
    try:
        with _postgres_connections().cursor() as cr:
            cr.execute(
                psycopg2.sql.SQL("SELECT {}('cron_trigger', %s)").format(
                    psycopg2.sql.Identifier(ODOO_NOTIFY_FUNCTION)
                ),
                [dbname],
            )
    except psycopg2.Error as exc:
        # The trigger is committed: the cron workers find it at their next
        # check, within a minute.
        _logger.warning("Could not wake the webhook dispatchers: %s", exc)


# The request's list of work to do once its answer is sent.
_AFTER_RESPONSE = "integration_after_response"


def after_response(work):
    """Calls ``work()`` once the answer to the current HTTP request is sent,
    or at once outside of a request.

    For one-statement writes that must happen whatever becomes of the
    request and that its answer does not depend on: a usage counter, the
    wake-up of the cron workers. The client has its answer one round trip
    sooner; the worker does the work before it serves its next request.
    ``work`` runs without the request and its cursor (both are gone): it
    takes what it needs (database name, backend) when it is registered,
    and opens its own connection. An error is logged, never raised. A
    process killed between the answer and the work loses the work.

    ``ir.http`` hands every answer to :func:`run_after_response`; an answer
    that bypasses it leaves its work to the thread's next request."""
    pending = _pending_work(create=True)
    if pending is None:
        _run_work(_Pending([work]))
        return
    pending.append(work)
    if pending.attached:
        _work_left.add(1)


def run_after_response(response):
    """Makes ``response``, the answer to the current request, do the
    request's work once it is sent (werkzeug calls it when the server has
    written the body); work registered later in the same request, until
    the answer is sent (e.g. at commit), runs with it. Odoo may build more
    than one answer for a request (a retry, an error at commit): only the
    one that is sent runs the work, once."""
    pending = _pending_work(create=True)
    if pending is not None and hasattr(response, "call_on_close"):
        if not pending.attached:
            pending.attached = True
            _work_left.add(len(pending))
        response.call_on_close(lambda: _run_work(pending))


# Per thread, the list of the last request that had work: an answer that
# bypassed ir.http (an ``abort`` with a ready response) leaves its work
# there, done at the thread's next request rather than lost.
_last_pending = threading.local()


def _pending_work(create=False):
    if not http.request:
        return None
    pending = getattr(http.request, _AFTER_RESPONSE, None)
    if pending is None and create:
        left = getattr(_last_pending, "work", None)
        if left:
            _run_work(left)
        pending = _last_pending.work = _Pending()
        setattr(http.request, _AFTER_RESPONSE, pending)
    return pending


class _Pending(list):
    """The work of a request; ``attached`` once an answer will do it."""

    attached = False


def _run_work(pending):
    while pending:
        work = pending.pop(0)
        try:
            work()
        except Exception:
            _logger.exception("Work after the answer failed")
        finally:
            if pending.attached:
                _work_left.done()


class _WorkLeft:
    """How many pieces of work of this process an answer will do once it is
    sent, and has not done yet."""

    def __init__(self):
        self.count = 0
        self.changed = threading.Condition()

    def add(self, count):
        with self.changed:
            self.count += count

    def done(self):
        with self.changed:
            self.count -= 1
            self.changed.notify_all()

    def wait(self, timeout):
        with self.changed:
            return self.changed.wait_for(lambda: self.count <= 0, timeout)


_work_left = _WorkLeft()


def wait_for_work_after_responses(timeout):
    """Waits until the answers sent by this process have done their work
    (:func:`after_response`), at most ``timeout`` seconds; returns whether
    they have. For a caller in the same process as the server that must
    see that work (the tests, which read counters right after a call)."""
    return _work_left.wait(timeout)

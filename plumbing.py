"""Database plumbing shared by every capability of the addon.

* :class:`Connections` — a process's own autocommit connections to one
  database, for one-statement work that must not ride on Odoo's pooled
  cursors (rate-limit decisions);
* :func:`own_cursor` — a cursor of its own, committed whatever becomes of the
  request's transaction (rate-limit counters, refusals, usage);
* :func:`send` and :func:`settle` — a statement (a counter, a
  notification) sent on a connection of the process's own without waiting
  for its answer, and the wait for the answers at the end of the request;
* :class:`ReadOnlyFromNextStatement` — a transaction made read-only by its
  next statement, without a round trip of its own;
* :func:`notify_cron_workers` — wakes the cron workers of a database at
  once, on a connection this process keeps.

Models import these from here, never from one another.
"""

import logging
import os
import threading
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from odoo import sql_db
from odoo.tools import SQL

from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION

_logger = logging.getLogger(__name__)

# Idle connections kept per database and process; more are opened while
# more threads work at once, and closed when given back.
IDLE_CONNECTIONS = 8
# Statements a thread may have sent without their answers (see send): past
# it, it waits for those first.
MAX_UNSETTLED = 4


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


class _SentConnections(Connections):
    """This process's own asynchronous connections to one database (hence
    in autocommit), on which :func:`send` sends statements."""

    def _borrow(self):
        with self._lock:
            if self._pid != os.getpid():
                _inherited.append(self._idle)
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        _db, info = sql_db.connection_info_for(self.dbname)
        cnx = psycopg2.connect(**info, async_=1)
        psycopg2.extras.wait_select(cnx)
        return cnx


_sent_lock = threading.Lock()
_sent_connections = {}  # database name: _SentConnections
_unsettled = threading.local()  # .sent: [(connections, cnx, cursor, what)]


def send(dbname, query, params=None, *, what):
    """Sends one statement to ``dbname`` on a connection of this process's
    own, in a transaction of its own, and returns without waiting for its
    answer: PostgreSQL runs it while the caller goes on.

    For counters a request must commit whatever becomes of its own
    transaction but whose outcome it does not need (the usage of an API
    key, the calls a validator accepted): the round trip, which costs the
    most on a loaded machine, leaves the request's path. :func:`settle`
    waits for the answers of the current thread's statements: the request
    calls it before its response leaves, so that what it counted is
    committed by then. A statement that fails is logged by :func:`settle`
    with ``what`` (the consequence, e.g. "usage not counted"), never
    raised: a counter never fails the call it counts."""
    sent = _sent_list()
    if len(sent) >= MAX_UNSETTLED:
        settle()
    with _sent_lock:
        connections = _sent_connections.get(dbname)
        if connections is None:
            connections = _sent_connections[dbname] = _SentConnections(dbname)
    try:
        cnx = connections._borrow()
        cursor = cnx.cursor()
        cursor.execute(query, params)
        cnx.poll()  # sends what the socket did not take at once
    except psycopg2.Error as exc:
        _logger.warning("%s: %s", what, exc)
        return
    sent.append((connections, cnx, cursor, what))


def settle():
    """Waits for the answers of the statements the current thread sent with
    :func:`send` (logging those that failed)."""
    sent = _sent_list()
    while sent:
        connections, cnx, cursor, what = sent.pop(0)
        try:
            psycopg2.extras.wait_select(cnx)
        except (psycopg2.Error, OSError) as exc:
            _logger.warning("%s: %s", what, exc)
            cursor.close()
            cnx.close()  # whatever its state, the next send reconnects
        else:
            cursor.close()
        connections._give_back(cnx)


def _sent_list():
    sent = getattr(_unsettled, "sent", None)
    if sent is None:
        sent = _unsettled.sent = []
    return sent


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


def notify_cron_workers(dbname):
    """Tells the cron workers that a trigger of ``dbname`` is due, as
    ``ir.cron._trigger()`` does, on a connection this process keeps (where
    Odoo opens and closes one each time), without waiting for the answer
    (:func:`send`; the trigger is committed: should the notification fail,
    the cron workers find it at their next check, within a minute)."""
    query = SQL(
        "SELECT %s('cron_trigger', %s)", SQL.identifier(ODOO_NOTIFY_FUNCTION), dbname
    )
    send(
        "postgres",
        query.code,
        query.params,
        what="Could not wake the cron workers",
    )

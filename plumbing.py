"""Database plumbing shared by every capability of the addon.

* :class:`Connections` — a process's own autocommit connections to one
  database, for one-statement work that must not ride on Odoo's pooled
  cursors (rate-limit decisions, waking the cron workers);
* :func:`own_cursor` — a cursor of its own, committed whatever becomes of the
  request's transaction (rate-limit counters, refusals, usage);
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
import psycopg2.sql

from odoo import sql_db
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

"""What a database error means for the request that met it.

Two kinds of failure are told apart from the rest (which are our mistakes):

* ``UNAVAILABLE``: the database cannot serve now: it is unreachable, refuses or
  drops the connection, is starting or shutting down, out of connections or
  resources, read-only, does not exist or has no schema yet, or a lock or
  statement timed out or deadlocked. Nothing is wrong with the request; it may
  succeed when retried (503 + Retry-After).
* ``TOO_COMPLEX``: the database refused the statement itself for its size or
  complexity (SQLite's expression depth, bound variables, columns or joins;
  MariaDB's join and packet limits; PostgreSQL's program limits, class 54).
  Only the request makes statements that big (many filters or values), and
  retrying it cannot help (400).

Anything else (a syntax error, a constraint we did not expect) is neither: a
500, logged with its traceback.
"""

import enum
import sqlite3

from oslo_db import exception as db_exc
from sqlalchemy import exc as sa_exc


class Failure(enum.Enum):
    """How a database error is answered."""

    UNAVAILABLE = "unavailable"
    TOO_COMPLEX = "too complex"


# SQLite primary result codes meaning the file cannot be used right now.
_SQLITE_UNAVAILABLE = {5, 6, 7, 8, 10, 13, 14, 15}  # BUSY LOCKED NOMEM READONLY IOERR FULL
#                                                      CANTOPEN PROTOCOL
_SQLITE_TOOBIG = 18
_SQLITE_TOO_COMPLEX = ("expression tree is too large", "too many sql variables",
                       "too many columns", "too many terms in compound select",
                       "tables in a join", "too many arguments on function",
                       "parser stack overflow", "too many from clause terms",
                       "pattern too complex", "string or blob too big")
_SQLITE_NO_SCHEMA = ("no such table",)

# MariaDB / MySQL error numbers (server and client).
_MYSQL_UNAVAILABLE = {
    1040, 1203,  # too many connections (server, user)
    1037, 1038, 1041, 1114,  # out of memory / sort memory / resources, table full
    1044, 1045, 1049,  # access denied (database, user), unknown database
    1047, 1053, 1077, 1927,  # not ready (Galera), shutting down, connection killed
    1081, 1129, 1130, 1152, 1158, 1159, 1160, 1161, 1184, 4031,  # network, aborted
    1146,  # table does not exist: schema not created yet
    1205, 1213,  # lock wait timeout, deadlock
    1290, 1836,  # read-only server
    1317, 1969, 3024,  # statement interrupted or timed out
    2002, 2003, 2005, 2006, 2013, 2055,  # client: cannot connect, gone away, lost
}
_MYSQL_TOO_COMPLEX = {
    1116,  # too many tables in a join
    1117,  # too many columns
    1153, 1301,  # statement or result larger than max_allowed_packet
    1390,  # too many placeholders
    1436,  # thread stack overrun (expression too deep)
}

# PostgreSQL SQLSTATE classes and codes.
_PG_UNAVAILABLE_CLASSES = ("08", "28", "53", "57", "58")  # connection, auth, resources,
#                                                          operator intervention, system
_PG_UNAVAILABLE = {"40001", "40P01", "55P03", "55006", "25006", "3D000", "42P01"}
_PG_TOO_COMPLEX_CLASS = "54"  # program limit exceeded


def driver_error(err: BaseException) -> BaseException:
    """The database driver's own exception behind ``err`` (the ``orig`` of a
    SQLAlchemy or oslo.db wrapper), or ``err`` itself."""
    return (getattr(err, "orig", None)
            or getattr(getattr(err, "inner_exception", None), "orig", None) or err)


def _dbapi_error(err: BaseException) -> sa_exc.DBAPIError | None:
    """The SQLAlchemy driver error behind ``err`` (oslo.db wraps some of them)."""
    for candidate in (err, getattr(err, "inner_exception", None), err.__cause__):
        if isinstance(candidate, sa_exc.DBAPIError):
            return candidate
    return None


def _sqlite(orig: sqlite3.Error) -> Failure | None:
    code = (getattr(orig, "sqlite_errorcode", 0) or 0) & 0xFF
    message = str(orig).lower()
    if code in _SQLITE_UNAVAILABLE or any(text in message for text in _SQLITE_NO_SCHEMA):
        return Failure.UNAVAILABLE
    if code == _SQLITE_TOOBIG or any(text in message for text in _SQLITE_TOO_COMPLEX):
        return Failure.TOO_COMPLEX
    return None


def _mysql(orig: BaseException) -> Failure | None:
    number = orig.args[0] if orig.args and isinstance(orig.args[0], int) else None
    if number in _MYSQL_UNAVAILABLE or number == 0:  # 0: pymysql's closed connection
        return Failure.UNAVAILABLE
    if number in _MYSQL_TOO_COMPLEX:
        return Failure.TOO_COMPLEX
    return None


def _postgresql(orig: BaseException, operational: bool) -> Failure | None:
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    if code is None:
        # No SQLSTATE: libpq's own error (cannot connect, server closed the connection).
        return Failure.UNAVAILABLE if operational else None
    if code[:2] in _PG_UNAVAILABLE_CLASSES or code in _PG_UNAVAILABLE:
        return Failure.UNAVAILABLE
    if code[:2] == _PG_TOO_COMPLEX_CLASS:
        return Failure.TOO_COMPLEX
    return None


def classify(err: BaseException) -> Failure | None:
    """UNAVAILABLE, TOO_COMPLEX, or None for an error that is neither."""
    if isinstance(err, (db_exc.DBConnectionError, db_exc.DBDeadlock,
                        db_exc.DBNonExistentDatabase, db_exc.DBNonExistentTable,
                        sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return Failure.UNAVAILABLE
    dbapi = _dbapi_error(err)
    if dbapi is None:
        return None
    if dbapi.connection_invalidated or isinstance(dbapi, sa_exc.InterfaceError):
        return Failure.UNAVAILABLE
    orig = dbapi.orig
    if isinstance(orig, sqlite3.Error):
        return _sqlite(orig)
    module = type(orig).__module__
    if module.startswith(("pymysql", "MySQLdb")):
        return _mysql(orig)
    if module.startswith("psycopg"):  # psycopg2 and psycopg 3
        return _postgresql(orig, isinstance(dbapi, sa_exc.OperationalError))
    return None

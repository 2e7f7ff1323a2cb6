"""The cache's bookkeeping: one row per cached image in a small SQLite file.

The table has the columns of Glance's sqlite cache driver (``cached_images``:
image_id, last_accessed, last_modified, size, hits, checksum), so a Glance cache
directory is adopted as it is. Every glance-api worker of a node opens the same
file: WAL journal, a busy timeout, and writes that take the lock up front.
"""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

BUSY_TIMEOUT = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cached_images (
    image_id TEXT PRIMARY KEY,
    last_accessed REAL DEFAULT 0.0,
    last_modified REAL DEFAULT 0.0,
    size INTEGER DEFAULT 0,
    hits INTEGER DEFAULT 0,
    checksum TEXT
)
"""


@dataclass(frozen=True)
class CachedImage:
    """One cached image as the API lists it (times are epoch seconds)."""

    image_id: str
    hits: int
    last_accessed: float
    last_modified: float
    size: int

    def as_dict(self) -> dict:
        """The API's representation."""
        return asdict(self)


class CacheIndex:
    """Rows of the cached images, in ``path`` (created on first use)."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    @contextmanager
    def _connect(self, write: bool = False,
                 timeout: float = BUSY_TIMEOUT) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            if write:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                yield conn
        finally:
            conn.close()

    def add(self, image_id: str, size: int, checksum: str | None) -> None:
        """Record a newly cached image (replacing a previous row)."""
        now = time.time()
        with self._connect(write=True) as conn:
            conn.execute("INSERT OR REPLACE INTO cached_images (image_id, last_accessed, "
                         "last_modified, size, hits, checksum) VALUES (?, ?, ?, ?, 0, ?)",
                         (image_id, now, now, size, checksum))

    def hit(self, image_id: str) -> None:
        """Count one download served from the cache (best effort: never waits long)."""
        try:
            with self._connect(write=True, timeout=0.5) as conn:
                conn.execute("UPDATE cached_images SET hits = hits + 1, last_accessed = ? "
                             "WHERE image_id = ?", (time.time(), image_id))
        except sqlite3.OperationalError:
            pass  # busy: a lost hit count is better than a slow download

    def remove(self, image_ids: list[str] | None = None) -> list[str]:
        """Forget ``image_ids`` (all rows when None); returns the ids that had a row."""
        with self._connect(write=True) as conn:
            if image_ids is None:
                found = [row[0] for row in conn.execute("SELECT image_id FROM cached_images")]
                conn.execute("DELETE FROM cached_images")
                return found
            found = []
            for image_id in image_ids:
                if conn.execute("DELETE FROM cached_images WHERE image_id = ?",
                                (image_id,)).rowcount:
                    found.append(image_id)
            return found

    def get(self, image_id: str) -> CachedImage | None:
        """One row, or None."""
        rows = self._select("WHERE image_id = ?", (image_id,))
        return rows[0] if rows else None

    def all(self) -> list[CachedImage]:
        """Every row, least recently used first."""
        return self._select("ORDER BY last_accessed, image_id", ())

    def total_size(self) -> int:
        """Bytes held by the cached images."""
        with self._connect() as conn:
            return int(conn.execute(
                "SELECT COALESCE(SUM(size), 0) FROM cached_images").fetchone()[0])

    def _select(self, clause: str, args: tuple) -> list[CachedImage]:
        with self._connect() as conn:
            rows = conn.execute("SELECT image_id, hits, last_accessed, last_modified, size "
                                f"FROM cached_images {clause}", args).fetchall()
        return [CachedImage(r[0], int(r[1] or 0), float(r[2] or 0), float(r[3] or 0),
                            int(r[4] or 0)) for r in rows]

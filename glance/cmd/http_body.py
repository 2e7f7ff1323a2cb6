"""Request bodies on a gunicorn connection, as ``glance-api``'s worker reads them.

A chunked body is refused at the size line that takes it past the limit of the
call reading it (``LimitedChunkedReader``), not after waiting for the data.
"""

from typing import Any

from gunicorn.http.body import ChunkedReader

from glance.api import wsgi


class LimitedChunkedReader(ChunkedReader):
    """gunicorn's chunked-body reader that adds up the sizes the chunks declare and
    raises ``BodyTooLarge`` at the size line that takes the total past ``limit``."""

    def __init__(self, req: Any, unreader: Any) -> None:
        super().__init__(req, unreader)
        self.limit: int | None = None
        self.declared = 0

    def limit_to(self, limit: int) -> None:
        """Refuse the body once its chunks declare more than ``limit`` bytes."""
        self.limit = limit if self.limit is None else min(self.limit, limit)

    def parse_chunk_size(self, unreader: Any, data: bytes | None = None):
        size, rest = super().parse_chunk_size(unreader, data=data)
        self.declared += size
        if self.limit is not None and self.declared > self.limit:
            raise wsgi.BodyTooLarge(limit=self.limit)
        return size, rest

"""md5 and the os_hash of image data, each computed on its own thread while the data
streams to a store (hashlib releases the GIL, so both run beside the writer)."""

import hashlib
import queue
import threading
from collections.abc import Iterable, Iterator

_HASH_QUEUE_DEPTH = 4


class _HashThread:
    """One hash computed on its own thread from a bounded queue of chunks."""

    def __init__(self, algorithm: str) -> None:
        self.hasher = (hashlib.md5(usedforsecurity=False) if algorithm == "md5"
                       else hashlib.new(algorithm))
        self.queue: queue.Queue[bytes | None] = queue.Queue(_HASH_QUEUE_DEPTH)
        self.thread = threading.Thread(target=self._run, name=f"hash-{algorithm}",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        update = self.hasher.update
        while (chunk := self.queue.get()) is not None:
            update(chunk)

    def finish(self) -> str:
        self.queue.put(None)
        self.thread.join()
        return self.hasher.hexdigest()


class ParallelHasher:
    """md5 and the os_hash, each on its own thread (hashlib releases the GIL)."""

    def __init__(self, hashing_algo: str) -> None:
        self.threads = [_HashThread("md5"), _HashThread(hashing_algo)]

    def update(self, chunk: bytes) -> None:
        for thread in self.threads:
            thread.queue.put(chunk)

    def finish(self) -> tuple[str, str]:
        """Wait for both threads: (md5 hex, os_hash hex)."""
        md5, os_hash = (thread.finish() for thread in self.threads)
        return md5, os_hash


def hashed(chunks: Iterable[bytes], hasher: ParallelHasher) -> Iterator[bytes]:
    """``chunks`` unchanged, each one fed to ``hasher`` on the way."""
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk

"""Child processes of a build: letting a build start them (also as a Celery worker), and
splitting a pure computation over forked processes (`fork_map`).

A first build makes every service's document and outputs; each is a pure function of its
record, so the records are split between this process and forked children, one per further
CPU, each sending back its results as bytes."""

from __future__ import annotations

import contextlib
import gc
import logging
import mmap
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def children_allowed() -> Iterator[None]:
    """Let this process start child processes even as a Celery prefork worker.

    Celery's pool (billiard) marks its worker processes daemonic, and multiprocessing refuses
    to start a child from a daemonic process (its children could outlive it). The children a
    build starts (renderers, `EarlyRender`, `fork_map`'s) are waited for before its task
    returns, so the mark is lifted while they start and put back after."""
    config = multiprocessing.current_process()._config  # noqa: SLF001 - no public setter
    daemonic = config.get("daemon")
    config["daemon"] = False
    try:
        yield
    finally:
        if daemonic is None:
            config.pop("daemon", None)
        else:
            config["daemon"] = daemonic


@contextlib.contextmanager
def forking() -> Iterator[None]:
    """Around the start of forked children: they may start (`children_allowed`), and the
    heap they inherit is out of their collector's sight (`gc.freeze`). A child's cyclic
    collections would otherwise walk every object of the build it was forked from (the
    release's records, documents and outputs: millions) again and again, copying each page
    they touch: it was half a second of a directory's assembly at 5,000 listings. Nested
    uses freeze once and unfreeze at the outermost exit."""
    global _FORKING
    if _FORKING == 0:
        gc.freeze()
    _FORKING += 1
    try:
        with children_allowed():
            yield
    finally:
        _FORKING -= 1
        if _FORKING == 0:
            gc.unfreeze()


_FORKING = 0  # how many `forking()` blocks this process is in


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class _Failed:
    """What a child sends instead of its results when making them raised."""

    def __init__(self, error: str) -> None:
        self.error = error


# results' bytes objects at least this long travel beside the pickles, in a shared file
# the parent maps: they come back as memoryviews of it, never copied
LARGE_BYTES = 512


class _Sender(pickle.Pickler):
    """Pickles a child's results to `meta`, writing their large bytes to `side` instead."""

    def __init__(self, meta: BinaryIO, side: BinaryIO) -> None:
        super().__init__(meta, protocol=pickle.HIGHEST_PROTOCOL)
        self.side = side
        self.at = 0

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is bytes and len(obj) >= LARGE_BYTES:
            self.side.write(obj)
            self.at += len(obj)
            return (self.at - len(obj), len(obj))
        return None


class _Receiver(pickle.Unpickler):
    def __init__(self, meta: BinaryIO, side: memoryview) -> None:
        super().__init__(meta)
        self.side = side

    def persistent_load(self, pid: Any) -> memoryview:
        at, size = pid
        return self.side[at : at + size]


def fork_map(
    fn: Callable[[T], R], items: Sequence[T], *, workers: int, min_each: int, chunk: int = 32
) -> list[R | Any]:
    """[fn(x) for x in items], made by this process and up to `workers - 1` forked children
    when there are at least `min_each` items for each. All of them take the next `chunk`
    items to make from a shared counter until none are left, so a process slowed by
    anything else on the machine simply makes fewer. A child pickles each chunk as soon as
    it is made, to a file of its own but for the results' large bytes, which go to a second
    file that this process maps: they come back as memoryviews of it, never copied.

    A child that fails or dies only costs time: what it took and did not write is made
    here, so an error is raised here, as it would be without children. `fn` and its results
    must not depend on anything a child changes (they run on a copy of this process)."""
    n = min(workers, len(items) // max(min_each, 1))
    if n < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(x) for x in items]
    context = multiprocessing.get_context("fork")
    claimed = context.RawValue("q", 0)
    lock = context.Lock()

    def work(emit: Callable[[int, list[R]], None]) -> None:
        while True:
            with lock:
                start = claimed.value
                claimed.value = start + chunk
            if start >= len(items):
                return
            emit(start, [fn(x) for x in items[start : start + chunk]])

    results: list[Any] = [None] * len(items)
    made = [False] * len(items)

    def keep(start: int, run: list[Any]) -> None:
        results[start : start + len(run)] = run
        made[start : start + len(run)] = [True] * len(run)

    children: list[tuple[Any, Any, BinaryIO, BinaryIO]] = []
    try:
        with forking():
            for _ in range(n - 1):
                meta = tempfile.TemporaryFile(dir=_shared_dir())  # noqa: SIM115 - closed below
                side = tempfile.TemporaryFile(dir=_shared_dir())  # noqa: SIM115
                receive, send = context.Pipe(duplex=False)
                child = context.Process(target=_serve, args=(work, send, meta, side))
                try:
                    child.start()
                finally:
                    send.close()
                children.append((child, receive, meta, side))
        work(keep)
        for _child, receive, meta, side in children:
            outcome = b""
            with contextlib.suppress(EOFError, OSError):
                outcome = receive.recv_bytes()
            if outcome != b"done":
                why = outcome.decode("utf-8", "replace") or "it ended without a word"
                log.warning("fork_map: what a child took is made here instead (%s)", why)
            _receive(meta, side, keep)  # all it wrote whole, even if it failed after
        for i, done in enumerate(made):  # what a failed or dead child took and did not write
            if not done:
                results[i] = fn(items[i])
        return results
    finally:
        for child, receive, meta, side in children:
            receive.close()
            meta.close()
            side.close()
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join()


def _receive(meta: BinaryIO, side: BinaryIO, keep: Callable[[int, list[Any]], None]) -> None:
    """Each chunk a child wrote whole, in order; a cut-off last one is left out."""
    size = os.fstat(side.fileno()).st_size
    mapped = mmap.mmap(side.fileno(), size, prot=mmap.PROT_READ) if size else b""
    meta.seek(0)
    receiver = _Receiver(meta, memoryview(mapped))
    while True:
        try:
            start, run = receiver.load()
        except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError):
            return
        keep(start, run)


def _shared_dir() -> str | None:
    """Memory-backed /dev/shm where there is one (the files never touch a disk)."""
    shm = "/dev/shm"  # noqa: S108 - files made with TemporaryFile: unnamed, private
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _serve(work: Callable[..., None], send: Any, meta: BinaryIO, side: BinaryIO) -> None:
    outcome = b"done"
    with (
        open(os.dup(meta.fileno()), "wb", closefd=True) as meta_out,
        open(os.dup(side.fileno()), "wb", closefd=True) as side_out,
    ):
        sender = _Sender(meta_out, side_out)

        def emit(start: int, run: list[Any]) -> None:
            sender.dump((start, run))
            sender.clear_memo()

        try:
            work(emit)
        except BaseException as exc:  # noqa: BLE001 - reported; the parent makes the rest
            outcome = f"{type(exc).__name__}: {exc}".encode()
    send.send_bytes(outcome)
    send.close()

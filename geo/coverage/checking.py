"""Checking (validating) the chunks of an import in file order, in a worker process when the file is large,
while the importing process reads the next chunks, locates and stages the checked ones.

>>> with ChunkChecker(options=CheckOptions(today=dt.date(2026, 11, 21)), in_worker=True) as checker:  # doctest: +SKIP
...     for chunk, checked in checker.checked(source.chunks):
...         stage(locate(checked.rows, geocoder=None, qpv=qpv)[0])

Validation is pure work on a chunk's frame (:func:`geo.coverage.validate.validate_rows`), the largest share of
an import's work in Python: on a 2-core machine a second process checks while the importing process reads,
locates (:func:`geo.coverage.locating.locate`, which leaves the two processes about equally busy) and stores. The content keys rank
identical visits across the chunks of a file (:class:`~geo.coverage.validate.RankCounter`), so one worker
checks every chunk, in the order they were read, and holds the counter: its keys are those of an import in
one process. At most :data:`AHEAD` chunks wait in the worker besides the one the importing process handles,
which keeps memory bounded.

:mod:`concurrent.futures` runs the worker; the worker is forked (the layers of France and of the QPV, loaded
by the importing process, are inherited rather than copied through a pipe). Where forking is not available,
or for a small file, the chunks are checked in the importing process, with the same results.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from types import TracebackType

import pandas as pd

from geo.coverage.reader import Chunk
from geo.coverage.territory import Territory
from geo.coverage.validate import RankCounter, validate_rows

logger = logging.getLogger(__name__)

#: Chunks handed to the worker ahead of the one the importing process is handling.
AHEAD = 1


@dataclass(frozen=True)
class CheckOptions:
    """How the chunks of one import are checked (the keyword options of :func:`check_chunk`).

    Attributes
    ----------
    today : datetime.date, optional
        Latest accepted visit date.
    allowed_sites : collection of str, optional
        Sites whose rows are accepted (all when ``None``).
    territory : Territory, optional
        France's land, to reject coordinates outside it.
    lang : {"fr", "en"}
        Language of the rejection reasons.
    """

    today: dt.date | None = None
    allowed_sites: Collection[str] | None = None
    territory: Territory | None = None
    lang: str = "fr"


@dataclass
class CheckedChunk:
    """One chunk checked.

    Attributes
    ----------
    rows : pandas.DataFrame
        Valid rows (:attr:`geo.coverage.validate.Validated.valid`).
    problems : pandas.DataFrame
        One row per failed check (:attr:`geo.coverage.validate.Validated.problems`).
    rejected : int
        Rows rejected.
    """

    rows: pd.DataFrame
    problems: pd.DataFrame
    rejected: int


def check_chunk(chunk: Chunk, *, options: CheckOptions, ranks: RankCounter) -> CheckedChunk:
    """Validate one chunk (content keys ranked by ``ranks``, updated).

    Parameters
    ----------
    chunk : geo.coverage.reader.Chunk
        Rows as read.
    options : CheckOptions
        How to check them.
    ranks : RankCounter
        The contents met in the earlier chunks of the file.

    Returns
    -------
    CheckedChunk
    """
    checked = validate_rows(chunk.frame, today=options.today, field_count_errors=chunk.field_count_errors,
                            allowed_sites=options.allowed_sites, territory=options.territory, lang=options.lang,
                            ranks=ranks)
    return CheckedChunk(rows=checked.valid, problems=checked.problems, rejected=int(checked.rejected_lines.size))


# the worker's state: the options and the ranks of one import, set when the worker starts
_WORKER: dict[str, object] = {}


def _start_worker(options: CheckOptions) -> None:
    _WORKER["options"], _WORKER["ranks"] = options, RankCounter()


def _check_in_worker(chunk: Chunk) -> CheckedChunk:
    options, ranks = _WORKER["options"], _WORKER["ranks"]
    assert isinstance(options, CheckOptions) and isinstance(ranks, RankCounter)
    return check_chunk(chunk, options=options, ranks=ranks)


def can_fork() -> bool:
    """Whether this platform starts worker processes by forking (the worker needs the layers in memory)."""
    return "fork" in multiprocessing.get_all_start_methods()


class ChunkChecker:
    """Checks the chunks of one import, in order, in a worker process or in this one (see the module docstring).

    Parameters
    ----------
    options : CheckOptions
        How to check the chunks.
    in_worker : bool
        Check in a forked worker process (ignored where forking is not available).
    """

    def __init__(self, *, options: CheckOptions, in_worker: bool) -> None:
        self.options = options
        self.ranks = RankCounter()
        self.pool: ProcessPoolExecutor | None = None
        if in_worker and can_fork():
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                            initializer=_start_worker, initargs=(options,))

    def __enter__(self) -> ChunkChecker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (chunks not checked yet are dropped)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def checked(self, chunks: Iterable[Chunk]) -> Iterator[tuple[Chunk, CheckedChunk]]:
        """Each chunk with its check, in the order read.

        Parameters
        ----------
        chunks : iterable of Chunk
            The file's chunks (read lazily: the next one is read while the worker checks the previous one).

        Yields
        ------
        (Chunk, CheckedChunk)
        """
        if self.pool is None:
            for chunk in chunks:
                yield chunk, check_chunk(chunk, options=self.options, ranks=self.ranks)
            return
        pending: deque[tuple[Chunk, Future[CheckedChunk]]] = deque()
        for chunk in chunks:
            pending.append((chunk, self.pool.submit(_check_in_worker, chunk)))
            if len(pending) > AHEAD:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            first, future = pending.popleft()
            yield first, future.result()

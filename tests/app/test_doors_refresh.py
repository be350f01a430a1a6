"""The background refresher of prepared door visits: one thread, latest wins, failures logged."""

from __future__ import annotations

import logging
import threading

import pytest

from app.doors_refresh import Refresher


def test_requests_during_a_run_collapse_into_one_more_run() -> None:
    started, release = threading.Event(), threading.Event()
    calls = []

    def work() -> None:
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(10)

    refresher = Refresher(work, name="test-refresh")
    refresher.request()
    assert started.wait(10)
    for _ in range(5):  # five syncs while the first preparation runs
        refresher.request()
    release.set()
    assert refresher.wait(timeout=10)
    assert len(calls) == 2 and set(calls) == {"test-refresh"}
    refresher.request()
    assert refresher.wait(timeout=10) and len(calls) == 3


def test_a_failing_run_is_logged_and_the_next_request_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    outcomes = iter([RuntimeError("disk full"), None])
    done = []

    def work() -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome
        done.append(True)

    refresher = Refresher(work, name="test-refresh-fail")
    with caplog.at_level(logging.ERROR, logger="app.doors_refresh"):
        refresher.request()
        assert refresher.wait(timeout=10)
    assert "test-refresh-fail failed" in caplog.text and refresher.runs == 1
    refresher.request()
    assert refresher.wait(timeout=10) and done == [True] and refresher.runs == 2

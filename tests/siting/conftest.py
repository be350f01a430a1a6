"""Fixtures: small hand-built geographies and covering problems whose answers are known by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from siting_toy import make_problem, toy_frames_data


@pytest.fixture()
def toy_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """See :func:`siting_toy.toy_frames_data`."""
    return toy_frames_data()


@pytest.fixture()
def greedy_trap():
    """k = 2: the optimum is {1, 2} (6 items); greedy takes 0 first (4 items) and ends with 5.

    items 0..5, weight 1; cand 0 = {1, 2, 3, 4}, cand 1 = {0, 1, 2}, cand 2 = {3, 4, 5}.
    """
    return make_problem([[1, 2, 3, 4], [0, 1, 2], [3, 4, 5]], [1.0] * 6)

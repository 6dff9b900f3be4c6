"""`gameday bench metrics` runs and prints both reads and their ratio (tiny depth)."""

from __future__ import annotations

import argparse
import io

import pytest

from gameday.bench import metrics
from gameday.errors import EXIT_OK, HarnessError


def test_the_bench_prints_both_reads_and_the_ratio() -> None:
    out = io.StringIO()
    assert metrics.main(argparse.Namespace(datums=2000, window=20.0), out) == EXIT_OK
    text = out.getvalue()
    assert "of 2,000" in text and "scanning every datum" in text and "ratio:" in text


def test_a_bad_depth_is_refused() -> None:
    with pytest.raises(HarnessError, match="--datums"):
        metrics.main(argparse.Namespace(datums=0, window=20.0), io.StringIO())

"""Work split over forked processes (tasks/publishing/processes.py)."""

from __future__ import annotations

import os
import sys
import time

import pytest

from tasks.publishing.processes import LARGE_BYTES, fork_map

PARENT = os.getpid()


def slow_double(x):
    time.sleep(0.01)  # long enough for the children to take their share
    return (x * 2, os.getpid(), bytes([x % 256]) * (LARGE_BYTES + x), b"small")


def test_items_are_made_by_children_too_and_come_back_in_order():
    results = fork_map(slow_double, list(range(60)), workers=3, min_each=2, chunk=2)
    assert [r[0] for r in results] == [x * 2 for x in range(60)]
    pids = {r[1] for r in results}
    assert PARENT in pids and len(pids) == 3
    # large bytes come back unchanged (read from the shared file), small ones in the pickle
    for x, (_, pid, large, small) in enumerate(results):
        assert bytes(large) == bytes([x % 256]) * (LARGE_BYTES + x)
        assert small == b"small"
        if pid != PARENT:
            assert isinstance(large, memoryview)


def test_too_few_items_are_made_here():
    results = fork_map(slow_double, list(range(10)), workers=4, min_each=6)
    assert {r[1] for r in results} == {PARENT}


MARK = None  # a file a child leaves when it takes an item (set before forking)


def took(x):
    if os.getpid() != PARENT:
        MARK.write_text(str(x))
        return True
    return False


def fails_in_a_child(x):
    if took(x):
        raise RuntimeError("a child's failure")
    time.sleep(0.005)
    return x + 1


def test_what_a_failed_child_took_is_made_here(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "MARK", tmp_path / "took")
    got = fork_map(fails_in_a_child, list(range(40)), workers=2, min_each=1, chunk=1)
    assert got == list(range(1, 41))
    assert (tmp_path / "took").exists()


def dies_in_a_child(x):
    if took(x):
        os._exit(3)
    time.sleep(0.005)
    return -x


def test_what_a_dead_child_took_is_made_here(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "MARK", tmp_path / "took")
    got = fork_map(dies_in_a_child, list(range(40)), workers=2, min_each=1, chunk=1)
    assert got == [-x for x in range(40)]
    assert (tmp_path / "took").exists()


def test_an_error_is_raised_here_as_without_children():
    def fails_on_five(x):
        time.sleep(0.005)
        if x == 5:
            raise ValueError("five")
        return x

    with pytest.raises(ValueError, match="five"):
        fork_map(fails_on_five, list(range(20)), workers=2, min_each=1, chunk=1)

"""Line diffs: correct for any two contents, bounded in time for hostile ones."""

from __future__ import annotations

import difflib
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.sops.diffs import line_opcodes, side_by_side, unified_diff

LINES = st.lists(st.sampled_from(["a", "b", "c", "- item", "", "## Steps", "1. Verify."]), max_size=40)


@given(LINES, LINES)
@settings(max_examples=300, deadline=None)
def test_opcodes__turn_old_into_new(a: list[str], b: list[str]) -> None:
    rebuilt: list[str] = []
    i = j = 0
    for tag, i1, i2, j1, j2 in line_opcodes(a, b):
        assert (i1, j1) == (i, j)  # contiguous, in order
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
        rebuilt += b[j1:j2]
        i, j = i2, j2
    assert (i, j) == (len(a), len(b)) and rebuilt == b


@given(LINES, LINES)
@settings(max_examples=200, deadline=None)
def test_unified_diff__same_format_as_difflib_when_the_alignment_agrees(a: list[str], b: list[str]) -> None:
    old, new = "\n".join(a), "\n".join(b)
    a, b = old.splitlines(), new.splitlines()  # what a content's lines are
    ours = unified_diff(old, new, old_label="v1", new_label="v2")
    assert bool(ours) == (a != b)
    minus = [line[1:] for line in ours.splitlines()[2:] if line.startswith("-")]
    plus = [line[1:] for line in ours.splitlines()[2:] if line.startswith("+")]
    # every removed line is from old and every added line from new, as many as the edit needs
    assert len(a) - len(minus) == len(b) - len(plus)
    if not a or not b:
        reference = "".join(
            line if line.endswith("\n") else line + "\n"
            for line in difflib.unified_diff([f"{x}\n" for x in a], [f"{x}\n" for x in b], "v1", "v2")
        )
        assert ours == reference


def test_side_by_side__hostile_repetitive_content__bounded_and_correct() -> None:
    # 4,000 near-identical lines each way: difflib.SequenceMatcher took minutes on such input
    old = "\n".join(f"line {i % 40}" for i in range(4000))
    new = "\n".join(f"line {(i * 7) % 40}" for i in range(4000))
    started = time.perf_counter()
    rows = side_by_side(old, new)
    assert time.perf_counter() - started < 10  # the deadline is 1 s; generous for a loaded CI machine
    assert [r.left for r in rows if r.left_number] == old.splitlines()
    assert [r.right for r in rows if r.right_number] == new.splitlines()

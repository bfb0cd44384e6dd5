"""Differences between two versions' content, for the API (unified diff) and the pages (side by
side), line by line.

Lines are aligned by Myers' O(ND) difference algorithm (Myers, "An O(ND) Difference Algorithm and
Its Variations", Algorithmica 1986) as implemented by Google's diff-match-patch (the
``diff-match-patch`` package), in its line mode and with its deadline: after ``DIFF_SECONDS`` it
returns a correct but coarser diff instead of the smallest one. ``difflib.SequenceMatcher``,
used before, is quadratic on repetitive text (a 1,000-line list of equal items took 24 s).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from diff_match_patch import diff_match_patch

DIFF_SECONDS = 1.0
"""The most time spent aligning two contents; past it the diff is correct but coarser."""

Opcode = tuple[str, int, int, int, int]


def line_opcodes(a: list[str], b: list[str], seconds: float = DIFF_SECONDS) -> list[Opcode]:
    """Return ``difflib``-style opcodes ``(tag, i1, i2, j1, j2)`` turning lines ``a`` into ``b``;
    ``tag`` is ``equal``, ``replace``, ``delete`` or ``insert``."""
    dmp = diff_match_patch()
    dmp.Diff_Timeout = seconds
    # Line mode: each distinct line becomes one character, so the alignment is by whole lines.
    chars_a, chars_b, _ = dmp.diff_linesToChars("".join(f"{line}\n" for line in a), "".join(f"{line}\n" for line in b))
    opcodes: list[Opcode] = []
    i = j = deleted = inserted = 0

    def flush() -> None:
        nonlocal i, j, deleted, inserted
        if deleted or inserted:
            tag = "replace" if deleted and inserted else ("delete" if deleted else "insert")
            opcodes.append((tag, i, i + deleted, j, j + inserted))
            i, j, deleted, inserted = i + deleted, j + inserted, 0, 0

    for op, chars in dmp.diff_main(chars_a, chars_b, False):
        if op == dmp.DIFF_EQUAL:
            flush()
            opcodes.append(("equal", i, i + len(chars), j, j + len(chars)))
            i, j = i + len(chars), j + len(chars)
        elif op == dmp.DIFF_DELETE:
            deleted += len(chars)
        else:
            inserted += len(chars)
    flush()
    return opcodes


class _Given(difflib.SequenceMatcher):
    """A ``SequenceMatcher`` that returns given opcodes, for its ``get_grouped_opcodes``."""

    def __init__(self, opcodes: list[Opcode]) -> None:
        super().__init__(None, [], [])
        self.given = opcodes

    def get_opcodes(self) -> list[Opcode]:  # type: ignore[override]
        return self.given


def _range(start: int, stop: int) -> str:
    """A unified diff's ``start,length`` (1-based; an empty range names the line before it)."""
    length = stop - start
    first = start + 1 if length else start
    return f"{first}" if length == 1 else f"{first},{length}"


def unified_diff(old: str, new: str, *, old_label: str, new_label: str, context: int = 3) -> str:
    """Return a unified diff (``diff -u`` format) from ``old`` to ``new``; empty if equal."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[str] = []
    for group in _Given(line_opcodes(a, b)).get_grouped_opcodes(context):
        if not lines:
            lines += [f"--- {old_label}\n", f"+++ {new_label}\n"]
        first, last = group[0], group[-1]
        lines.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [f" {line}\n" for line in a[i1:i2]]
                continue
            lines += [f"-{line}\n" for line in a[i1:i2]]
            lines += [f"+{line}\n" for line in b[j1:j2]]
    return "".join(lines)


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff. ``kind`` is equal, replace, delete or insert; a side
    with no line has number ``None`` and text ``""``."""

    kind: str
    left_number: int | None
    left: str
    right_number: int | None
    right: str


def side_by_side(old: str, new: str) -> list[DiffRow]:
    """Return the rows of a line-by-line side-by-side diff of ``old`` and ``new``; replaced
    blocks of unequal length are padded with empty cells on the shorter side."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in line_opcodes(a, b):
        if tag == "equal":
            rows.extend(
                DiffRow("equal", i + 1, a[i], j + 1, b[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        left, right = list(range(i1, i2)), list(range(j1, j2))
        for k in range(max(len(left), len(right))):
            li = left[k] if k < len(left) else None
            rj = right[k] if k < len(right) else None
            kind = "replace" if li is not None and rj is not None else ("delete" if li is not None else "insert")
            rows.append(
                DiffRow(
                    kind,
                    li + 1 if li is not None else None,
                    a[li] if li is not None else "",
                    rj + 1 if rj is not None else None,
                    b[rj] if rj is not None else "",
                )
            )
    return rows

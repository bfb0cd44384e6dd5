"""Differences between two versions' content, for the API (unified diff) and the pages
(side by side). Both come from the standard library's ``difflib``."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


def unified_diff(old: str, new: str, *, old_label: str, new_label: str, context: int = 3) -> str:
    """Return a unified diff (``diff -u`` format) from ``old`` to ``new``; empty if equal."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=old_label,
        tofile=new_label,
        n=context,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


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
    """Return the rows of a line-by-line side-by-side diff of ``old`` and ``new``.

    Uses ``difflib.SequenceMatcher`` opcodes; replaced blocks of unequal length are padded
    with empty cells on the shorter side.
    """
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(
                DiffRow("equal", i + 1, a[i], j + 1, b[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=False)
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

"""Side-by-side diff time by content size: the bounded Myers diff (``apps/sops/diffs.py``) beside
``difflib.SequenceMatcher`` (what the version pages used before), on two kinds of content:

* ``revised``: every line different, one in 50 edited (a revision of a long SOP);
* ``rewritten``: every line different, one in 5 edited;
* ``repetitive``: one line repeated, against the same line alternating with another (a long
  checklist of equal items) — quadratic for ``SequenceMatcher``, which is only run up to 500
  lines here (1,000 lines took 24 s).

    python bench/diff_scale.py
"""

from __future__ import annotations

import difflib
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopgov.settings.local")

from apps.sops.diffs import side_by_side  # noqa: E402


def contents(kind: str, n: int) -> tuple[str, str]:
    rng = random.Random(n)
    if kind in ("revised", "rewritten"):
        share = 0.02 if kind == "revised" else 0.2
        old = [f"Step {i}: check the order and the customer's identity ({rng.randint(0, 10**6)})" for i in range(n)]
        new = [line + " — updated" if rng.random() < share else line for line in old]
    else:
        old = ["- check the item"] * n
        new = ["- check the item", "- check another item"] * (n // 2)
    return "\n".join(old), "\n".join(new)


def seconds(function: object, *args: object) -> float:
    started = time.perf_counter()
    function(*args)  # type: ignore[operator]
    return round(time.perf_counter() - started, 3)


def previous(old: str, new: str) -> None:
    difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False).get_opcodes()


def main() -> None:
    results = []
    print(f"{'content':11} {'lines':>6} {'bounded Myers s':>16} {'SequenceMatcher s':>18}")
    for kind in ("revised", "rewritten", "repetitive"):
        for n in (250, 500, 1000, 2000, 4000, 8000):
            old, new = contents(kind, n)
            ours = seconds(side_by_side, old, new)
            before = seconds(previous, old, new) if kind != "repetitive" or n <= 500 else None
            results.append({"content": kind, "lines": n, "bounded_s": ours, "sequencematcher_s": before})
            print(f"{kind:11} {n:>6} {ours:>16} {before if before is not None else 'skipped':>18}", flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "diff_scale.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

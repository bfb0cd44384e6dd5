"""``python -m mcp_bridge evaluate``: the served routing path measured on held-out questions.

The floors are below the figures measured on the whole test half (docs/ROUTING.md: 85.5 % top-1,
91.7 % out-of-scope recall by meaning; 70.5 % and 66.1 % by words) by about three standard errors
of the sample used here, so they fail on a real loss of accuracy, not on sampling noise.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mcp_bridge.bundle_format import canonical_bytes
from mcp_bridge.evaluate import main, payload_from_library

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "routing"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, float]:
    assert main([str(a) for a in argv]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def test_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every eighth in-scope question of the test half and all its out-of-scope ones."""
    rows = list(csv.DictReader((DATA / "banking77_test.csv").open(encoding="utf-8")))
    in_scope = [r for r in rows if r["expected"]][::8]
    out = tmp_path_factory.mktemp("eval") / "sample.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["question", "expected"])
        writer.writeheader()
        writer.writerows([*in_scope, *(r for r in rows if not r["expected"])])
    return out


def test_banking77__by_meaning__far_better_than_by_words(capsys: pytest.CaptureFixture[str], test_sample: Path) -> None:
    semantic = run(capsys, DATA / "demo_library.json", test_sample)
    lexical = run(capsys, DATA / "demo_library.json", test_sample, "--lexical")
    assert semantic["n"] == lexical["n"] == 580 + 109
    assert semantic["top1_accuracy"] >= 0.80 and semantic["oos_recall"] >= 0.83
    assert lexical["top1_accuracy"] <= 0.76
    assert semantic["top1_accuracy"] - lexical["top1_accuracy"] >= 0.08


def test_chinese_library__by_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    semantic = run(capsys, DATA / "ecommerce_zh_library.json", DATA / "ecommerce_zh_eval.csv")
    lexical = run(capsys, DATA / "ecommerce_zh_library.json", DATA / "ecommerce_zh_eval.csv", "--lexical")
    assert semantic["top1_accuracy"] >= 0.80 and semantic["oos_recall"] >= 0.9
    assert semantic["top1_accuracy"] > lexical["top1_accuracy"] + 0.2


def test_bundle_file__same_numbers_as_its_library(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = json.loads((DATA / "ecommerce_zh_library.json").read_text(encoding="utf-8"))
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(canonical_bytes(payload_from_library(rows)))
    from_library = run(capsys, DATA / "ecommerce_zh_library.json", DATA / "ecommerce_zh_eval.csv")
    from_bundle = run(capsys, "--bundle", bundle, DATA / "ecommerce_zh_eval.csv")
    keys = ("n", "top1_accuracy", "oos_recall")
    assert [from_bundle[k] for k in keys] == [from_library[k] for k in keys]


def test_show_errors__misses_printed_before_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                str(DATA / "ecommerce_zh_library.json"),
                str(DATA / "ecommerce_zh_eval.csv"),
                "--lexical",
                "--show-errors",
                "3",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.startswith("MISS expected=") for line in lines[:3]] == [True] * 3
    assert set(json.loads(lines[-1])) == {"n", "top1_accuracy", "oos_recall", "p50_ms", "p99_ms"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope.json", "nope.csv"], "no such file: nope.json"),
        ([str(DATA / "demo_library.json")], "give LIBRARY.json QUESTIONS.csv"),
        ([str(DATA / "demo_library.json"), str(DATA / "demo_library.json")], "columns question,expected"),
    ],
)
def test_bad_arguments__exit_2_saying_why(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err

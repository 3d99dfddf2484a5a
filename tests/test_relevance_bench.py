"""benchmarks/relevance_bench.py --tiny runs end to end and writes its report (no timing assertions)."""

from __future__ import annotations

import json
from pathlib import Path


def test_relevance_bench_tiny_writes_its_report(tmp_path: Path) -> None:
    from benchmarks import relevance_bench

    out = tmp_path / "relevance.json"
    assert relevance_bench.main(["--tiny", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {s["library"] for s in report["summary"]} == {"full", "partial"}
    assert report["queries"] and all(q["empty"] is False for q in report["queries"])
    kinds = {q["kind"] for q in report["queries"]}
    assert {"item", "tint", "off-topic", "similar", "composed"} <= kinds
    assert all(0.0 <= q["marked_fraction"] <= 1.0 for q in report["queries"])

"""Every ``--json`` output matches docs/cli-json.md: the fields listed there, with their types, and no others.

The contract is read from the document itself, so a field added to a command without documenting it, a
documented field that disappears, or a new ``--json`` command without a section fails here. Each
documented row must also be seen at least once in the outputs (the test data exercise every field).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli_helpers import make_library_photos, run_cli
from tests.conftest import cli_env

REPO = Path(__file__).resolve().parent.parent
CONTRACT = REPO / "docs" / "cli-json.md"
TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


@dataclass
class Section:
    commands: list[str]
    shape: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)  # "a[].b" -> ["string", "null"]


def parse_contract(text: str) -> dict[str, Section]:
    """``{"photolens search --json": Section}`` from the document's ``## `photolens … --json` `` sections."""
    sections: dict[str, Section] = {}
    current: Section | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            commands = re.findall(r"`(photolens [^`]*--json)`", line)
            current = Section(commands) if commands else None
            for command in commands:
                sections[command] = current
        elif current is not None and line.startswith("Shape: "):
            current.shape = line.split(":", 1)[1].strip()
        elif current is not None and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            name = cells[0].strip("`")
            current.fields[name] = [t.strip() for t in cells[1].split(" or ")]
    return sections


def validate(value, section: Section, seen: set[str]) -> None:
    """Check ``value`` against the section; rows met are added to ``seen``."""
    assert TYPES[section.shape](value), f"expected a JSON {section.shape}, got {type(value).__name__}"
    fields = section.fields if section.shape == "object" else {f"[].{k}": v for k, v in section.fields.items()}
    if section.shape == "array":
        fields["[]"] = ["object"]
        for item in value:
            _check(item, "[]", fields, seen)
    else:
        _check(value, "", fields, seen)


def _check(value, path: str, fields: dict[str, list[str]], seen: set[str]) -> None:
    if path and path != "[]":
        seen.add(path)
    allowed = fields.get(path) or ["object"]  # the root, or array items documented only by their fields
    assert any(TYPES[t](value) for t in allowed), f"{path or 'output'}: {value!r} is not {' or '.join(allowed)}"
    if isinstance(value, dict):
        if f"{path}.*" in fields:
            for item in value.values():
                _check(item, f"{path}.*", fields, seen)
            return
        prefix = f"{path}." if path else ""
        expected = {f[len(prefix):] for f in fields if f.startswith(prefix) and f != path
                    and "." not in f[len(prefix):] and "[]" not in f[len(prefix):]}
        assert set(value) == expected, (f"{path or 'output'}: undocumented {sorted(set(value) - expected)}, "
                                        f"missing {sorted(expected - set(value))}")
        for key, item in value.items():
            _check(item, prefix + key, fields, seen)
    elif isinstance(value, list) and any(f.startswith(f"{path}[]") for f in fields):
        for item in value:
            _check(item, f"{path}[]", fields, seen)


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class Run:
    outputs: dict[str, list]  # documented command -> parsed outputs
    photos: dict[str, Path]
    index_code: int


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, tiny_spec: str) -> Run:
    base = tmp_path_factory.mktemp("cli-json")
    photos = make_library_photos(base / "Pictures")
    no_library = ["--db", str(base / "none" / "library.db"), "--model", tiny_spec]
    lib = ["--db", str(base / "library.db"), "--model", tiny_spec]
    first = photos["first"]
    outputs: dict[str, list] = {}

    def record(command: str, *argv: str, code: int = 0) -> None:
        result = run_cli(*argv)
        assert result.code == code, f"{argv}: exit {result.code}\n{result.err}"
        outputs.setdefault(command, []).append(json.loads(result.out))

    outputs["photolens lens show --json"] = [json.loads(run_cli(*no_library, "lens", "show", "colour", "--json")
                                                        .ok().out)]
    index = run_cli(*lib, "index", str(base / "Pictures"), "--json")
    outputs["photolens index --json"] = [json.loads(index.out)]
    run_cli(*lib, "lens", "create", "shade", "--values", "light, dark", "--description", "how bright").ok()
    record("photolens search --json", *lib, "search", "a", "photo", "--json", "--min-score", "none")
    record("photolens search --json", *lib, "search", "--photo", str(first), "at night", "--json",
           "--min-score", "none")
    record("photolens similar --json", *lib, "similar", str(first), "--json", "--min-score", "none")
    record("photolens status --json", *lib, "status", "--json")
    record("photolens models --json", *lib, "models", "--json")
    record("photolens models --json", *lib, "models", "--all", "--json")
    record("photolens failures --json", *lib, "failures", "--json")
    record("photolens roots list --json", *lib, "roots", "list", "--json")
    record("photolens lens list --json", *lib, "lens", "list", "--json")
    record("photolens lens show --json", *lib, "lens", "show", "colour", "--json")
    record("photolens group --json", *lib, "group", "--lens", "colour", "--json")
    record("photolens cluster --json", *lib, "cluster", "--lens", "colour", "--k", "2", "--json")
    return Run(outputs, photos, index.code)


def json_commands() -> set[str]:
    """Every subcommand of the real parser that has a --json option, as "photolens a b --json"."""
    import argparse

    from photolens.cli import build_parser

    found = set()

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
            elif "--json" in action.option_strings:
                found.add(" ".join(["photolens", *words, "--json"]))

    walk(build_parser(), [])
    return found


def test_every_json_command_is_documented_and_checked(run: Run) -> None:
    documented = set(parse_contract(CONTRACT.read_text(encoding="utf-8")))
    assert json_commands() == documented
    assert set(run.outputs) == documented


def test_every_output_matches_the_contract_and_exercises_every_row(run: Run) -> None:
    sections = parse_contract(CONTRACT.read_text(encoding="utf-8"))
    seen: dict[int, set[str]] = {}
    for command, outputs in run.outputs.items():
        section = sections[command]
        for output in outputs:
            validate(output, section, seen.setdefault(id(section), set()))
    for section in {id(s): s for s in sections.values()}.values():
        expected = set(section.fields) if section.shape == "object" else {f"[].{k}" for k in section.fields}
        assert expected <= seen[id(section)], f"{section.commands}: never seen {sorted(expected - seen[id(section)])}"


def test_a_lens_shown_before_any_library_has_no_fit(run: Run) -> None:
    before, after = run.outputs["photolens lens show --json"]
    assert before["fit"] is None and before["values"][:2] == ["red", "orange"]
    assert after["fit"]["dim_in"] == 32 and after["fit"]["prompts"] == len(after["values"]) * len(after["templates"])


def test_index_with_unreadable_files_exits_1_and_lists_them(run: Run) -> None:
    summary = run.outputs["photolens index --json"][0]
    assert run.index_code == 1 and summary["failed"] >= 1
    assert str(run.photos["broken"]) in {p["path"] for p in summary["problems"]}


def test_search_similar_and_cluster_carry_scores_best_first(run: Run) -> None:
    for command in ("photolens search --json", "photolens similar --json"):
        for hits in run.outputs[command]:
            assert hits and [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
            assert all(os.path.isabs(h["path"]) and isinstance(h["match"], bool) for h in hits)
            flags = [h["match"] for h in hits]
            assert flags == sorted(flags, reverse=True)  # matches first, then the weaker results
    similar = run.outputs["photolens similar --json"][0]
    assert str(run.photos["first"]) not in {h["path"] for h in similar}  # itself excluded
    rows = run.outputs["photolens cluster --json"][0]
    assert {r["cluster"] for r in rows} == {0, 1}
    assert all(-1.0 - 1e-6 <= r["score"] <= 1.0 + 1e-6 for r in rows)
    models = run.outputs["photolens models --json"]
    assert len(models[1]) > len(models[0]) and sum(m["current"] for m in models[1]) == 1


def test_non_utf8_names_give_back_their_exact_bytes(run: Run) -> None:
    if "odd" not in run.photos:
        pytest.skip("this file system refuses names that are not valid UTF-8")
    odd = os.fsencode(run.photos["odd"])
    hits = run.outputs["photolens search --json"][0]
    match = [h for h in hits if os.fsencode(h["path"]) == odd]
    assert len(match) == 1
    assert match[0]["display_path"].endswith("caf\\xe9 \\xff.jpg")
    with open(match[0]["path"], "rb") as handle:  # the decoded string opens the very file
        assert handle.read() == run.photos["odd"].read_bytes()
    group_paths = {os.fsencode(r["path"]) for r in run.outputs["photolens group --json"][0]}
    assert odd in group_paths


def test_json_on_a_real_stdout_keeps_undecodable_bytes(tmp_path: Path, run: Run, tiny_spec: str) -> None:
    """A subprocess (``failures`` loads no model): the bytes a script reads are plain ASCII-safe JSON with
    ``\\udcXX`` escapes for the undecodable bytes, which any JSON parser accepts."""
    if "odd_broken" not in run.photos:
        pytest.skip("this file system refuses names that are not valid UTF-8")
    env = cli_env(tiny_spec, tmp_path / "unused.db")
    db = run.photos["first"].parent.parent / "library.db"
    result = subprocess.run([sys.executable, "-m", "photolens", "--db", str(db), "failures", "--json"],
                            cwd=REPO, env=env, capture_output=True, timeout=180)
    assert result.returncode == 0, result.stderr
    raw = result.stdout.decode("utf-8")  # valid UTF-8
    assert "\\udcff" in raw
    paths = {os.fsencode(f["path"]) for f in json.loads(raw)}
    assert os.fsencode(run.photos["odd_broken"]) in paths

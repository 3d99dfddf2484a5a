"""Lenses inside a library, on planted vectors: the lens must follow its notion and ignore the other.

Space (d = 16): dims 0–3 carry colour (red, green, blue, yellow), dims 4–6 shape (round, square,
triangle), dim 15 a shared offset like real CLIP's common component. Prompts for a colour vary only in
the colour dims; photos are colour + shape + noise. A colour lens must group, cluster, search and find
"more like this" by colour, whatever the shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from photolens.cli import main as cli_main
from photolens.lenses.definition import LensDefinition
from photolens.lenses.errors import LensDefinitionError, LensError
from photolens.lenses.service import LensService
from photolens.library import Library
from photolens.vectors import normalize
from tests.fakes import PLANTED_SPEC, PlantedEmbedder, plant_photos

D = 16
COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("round", "square", "triangle")
TEMPLATES = ("a photo of something {}", "a {} object")


def basis(i: int) -> np.ndarray:
    v = np.zeros(D, dtype=np.float32)
    v[i] = 1.0
    return v


def text_vectors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    out = {}
    for t, template in enumerate(TEMPLATES):
        for c, word in enumerate(COLOURS):
            out[template.format(word)] = basis(c) + 0.8 * basis(15) + 0.05 * t * basis(14) + 0.02 * rng.normal(size=D)
        for s, word in enumerate(SHAPES):
            out[template.format(word)] = basis(4 + s) + 0.8 * basis(15) + 0.05 * t * basis(14) + 0.02 * rng.normal(size=D)
    for c, word in enumerate(COLOURS):
        out[word] = basis(c) + 0.8 * basis(15)
    return out


@pytest.fixture
def lens_library(tmp_path: Path):
    rng = np.random.default_rng(7)
    photos, truth = {}, {}
    for i in range(48):
        colour, shape = i % 4, (i // 4) % 3
        # shape is the stronger signal in raw space: raw similarity follows shape, the lens must not
        vector = 0.6 * basis(colour) + 1.0 * basis(4 + shape) + 0.5 * basis(15) + 0.08 * rng.normal(size=D)
        path = str(tmp_path / "photos" / f"{COLOURS[colour]}_{SHAPES[shape]}_{i:02d}.jpg")
        photos[path] = normalize(vector)
        truth[path] = (COLOURS[colour], SHAPES[shape])
    embedder = PlantedEmbedder(text_vectors(), dim=D)
    library = Library(db=str(tmp_path / "lens.db"), model=PLANTED_SPEC, embedder=embedder)
    ids = plant_photos(library.db, embedder.key, photos)
    yield library, ids, truth, embedder
    library.close()


def colour_lens(dim: int | None = 4) -> LensDefinition:
    return LensDefinition(name="colour", values=COLOURS, templates=TEMPLATES, dim=dim)


def test_group_follows_the_lens_notion_not_the_stronger_one(lens_library) -> None:
    library, ids, truth, _ = lens_library
    service = LensService(library)
    service.save_lens(colour_lens())
    grouping = service.group("colour")
    by_id = {pid: path for path, pid in ids.items()}
    photo_ids = service.grouped_ids("colour")
    assigned = {by_id[int(pid)]: grouping.values[v] for pid, v in zip(photo_ids, grouping.value)}
    correct = sum(assigned[p] == truth[p][0] for p in assigned)
    assert len(assigned) == 48
    assert correct >= 46


def test_similar_through_the_lens_ignores_shape(lens_library) -> None:
    library, _ids, truth, _ = lens_library
    service = LensService(library)
    service.save_lens(colour_lens())
    query = next(p for p in truth if truth[p] == ("red", "round"))
    raw = library.similar(query, limit=8)
    lens = service.similar("colour", query, limit=8)
    raw_same_colour = sum(truth[h.path][0] == "red" for h in raw)
    lens_same_colour = sum(truth[h.path][0] == "red" for h in lens)
    assert lens_same_colour >= 7
    assert lens_same_colour > raw_same_colour


def test_text_search_in_the_lens_finds_the_colour(lens_library) -> None:
    library, _ids, truth, _ = lens_library
    service = LensService(library)
    service.save_lens(colour_lens())
    hits = service.search("colour", "blue", limit=12)
    assert [truth[h.path][0] for h in hits] == ["blue"] * 12


def test_cluster_auto_finds_the_colours_and_names_them(lens_library) -> None:
    library, ids, truth, _ = lens_library
    service = LensService(library)
    service.save_lens(colour_lens())
    result = service.cluster("colour")
    assert result.k == 4
    photo_ids = service.grouped_ids("colour")
    by_id = {pid: path for path, pid in ids.items()}
    for info in result.clusters:
        members = [truth[by_id[int(photo_ids[r])]][0] for r in np.flatnonzero(result.labels == info.index)]
        majority = max(set(members), key=members.count)
        assert members.count(majority) >= len(members) - 1
        assert info.names[0][0] == majority


def test_fit_is_stored_per_model_and_reused(lens_library, monkeypatch: pytest.MonkeyPatch) -> None:
    library, *_ = lens_library
    LensService(library).save_lens(colour_lens())
    first = LensService(library).activate("colour")

    import photolens.lenses.service as service_module

    def no_refit(*_args, **_kwargs):
        raise AssertionError("the stored fit should have been reused")

    monkeypatch.setattr(service_module, "fit_definition", no_refit)
    again = LensService(library).activate("colour")
    np.testing.assert_array_equal(first.matrix, again.matrix)


def test_editing_a_lens_invalidates_its_fit(lens_library) -> None:
    library, *_ = lens_library
    service = LensService(library)
    service.save_lens(colour_lens(dim=4))
    before = service.activate("colour").matrix.shape
    service.save_lens(colour_lens(dim=3))
    after = service.activate("colour").matrix.shape
    assert before == (4, D) and after == (3, D)


def test_presets_are_usable_by_name_and_unknown_names_are_clear(lens_library) -> None:
    library, *_ = lens_library
    service = LensService(library)
    assert "colour" in service.presets()
    with pytest.raises(LensError, match="No lens called 'nope'"):
        service.get_lens("nope")


def test_export_import_round_trip_and_duplicate_names(lens_library, tmp_path: Path) -> None:
    library, *_ = lens_library
    service = LensService(library)
    service.save_lens(colour_lens())
    target = tmp_path / "colour.toml"
    service.export_lens("colour", str(target))
    with pytest.raises(LensDefinitionError, match="already exists"):
        service.import_lens(str(target))
    assert service.delete_lens("colour")
    assert service.import_lens(str(target)) == colour_lens()
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nvalues = ["only"]\n')
    with pytest.raises(LensDefinitionError):
        service.import_lens(str(bad))


def test_group_rows_align_with_requested_ids_including_unembedded(lens_library) -> None:
    library, ids, _truth, _ = lens_library
    service = LensService(library)
    service.save_lens(colour_lens())
    wanted = np.array([list(ids.values())[0], 999_999, list(ids.values())[1]], dtype=np.int64)
    grouping = service.group("colour", wanted)
    assert grouping.value.shape == (3,)
    assert grouping.value[1] == -1 and grouping.value[0] >= 0 and grouping.value[2] >= 0


def test_cli_group_and_cluster_json(lens_library, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    library, _ids, truth, _ = lens_library
    LensService(library).save_lens(colour_lens())
    monkeypatch.setattr("photolens.cli.common.open_library", lambda _args: library)
    monkeypatch.setattr("photolens.cli.lens_cmd.open_library", lambda _args: library)
    assert cli_main(["group", "--lens", "colour", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 48 and {"path", "value", "margin"} <= set(rows[0])
    assert sum(truth[r["path"]][0] == r["value"] for r in rows) >= 46
    assert cli_main(["cluster", "--lens", "colour", "--k", "4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["cluster"] for r in rows} == {0, 1, 2, 3} and all(r["label"] for r in rows)

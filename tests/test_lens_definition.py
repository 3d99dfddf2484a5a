"""Lens definitions: prompts, parsing, validation messages, round trips, presets."""

from __future__ import annotations

import json

import pytest

from photolens.errors import PhotolensError
from photolens.lenses.definition import MAX_PROMPTS, LensDefinition
from photolens.lenses.errors import LensDefinitionError
from photolens.lenses.presets import list_presets, load_preset


def make(**changes: object) -> LensDefinition:
    fields: dict[str, object] = {
        "name": "colour",
        "values": ("red", "blue", "green"),
        "templates": ("a {} car", "{} light"),
    }
    fields.update(changes)
    return LensDefinition(**fields)  # type: ignore[arg-type]


def test_prompts_fill_every_template_with_every_word_in_stable_order() -> None:
    assert make().prompts() == [
        "a red car",
        "red light",
        "a blue car",
        "blue light",
        "a green car",
        "green light",
    ]


def test_colliding_prompts_are_deduplicated_and_owned_by_both_words() -> None:
    lens = make(values=("red", "car"), templates=("a {} car", "a red {}"))
    assert lens.prompts() == ["a red car", "a red red", "a car car"]
    assert lens.prompt_owners() == [(0, 1), (0,), (1,)]


def test_words_and_templates_are_whitespace_normalised() -> None:
    lens = make(values=("  dark   red ", "blue"), templates=("a  {}   car",))
    assert lens.values == ("dark red", "blue")
    assert lens.prompts() == ["a dark red car", "a blue car"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"values": ("red", " ")}, "Value #2 is empty"),
        ({"values": ("red", "Red")}, "appears twice"),
        ({"values": ("red",)}, "at least 2 values"),
        ({"values": "red, blue"}, "list of words"),
        ({"values": ("red", "bl\x00ue")}, "control characters"),
        ({"templates": ("a car",)}, "no '{}' slots"),
        ({"templates": ("a {} {} car",)}, "has 2 '{}' slots"),
        ({"templates": ("a {color} {}",)}, "braces other than"),
        ({"templates": ("a {}", "a {}")}, "appears twice"),
        ({"templates": ()}, "at least one template"),
        ({"name": ""}, "name is empty"),
        ({"name": "x" * 65}, "limit is 64"),
        ({"name": "colour/red"}, "not allowed ('/')"),
        ({"name": "-colour"}, "starting with a letter"),
        ({"dim": 1}, "at least 2"),
        ({"dim": 3.5}, "whole number"),
        ({"dim": True}, "whole number"),
        ({"values": tuple(f"w{i}" for i in range(MAX_PROMPTS + 1)), "templates": ("{}",)}, "limit is 2000"),
    ],
)
def test_invalid_definitions_are_refused_with_a_clear_message(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(LensDefinitionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make(**changes)


def test_definition_error_is_a_photolens_error() -> None:
    assert issubclass(LensDefinitionError, PhotolensError)


def test_unicode_names_and_words_are_accepted() -> None:
    lens = make(name="Farbe 2.0", values=("rot", "grün", "「青」"))
    assert lens.name == "Farbe 2.0" and lens.prompts()[-2:] == ["a 「青」 car", "「青」 light"]


def test_output_dim_defaults_to_a_quarter_and_refuses_more_than_the_embedding() -> None:
    assert make().output_dim(512) == 128
    assert make(dim=32).output_dim(64) == 32
    with pytest.raises(LensDefinitionError, match="more than the embedding's 64"):
        make(dim=128).output_dim(64)


def test_toml_and_json_round_trip_keep_every_field(tmp_path) -> None:
    lens = make(values=('dark "wine" red', "blue\\grey", "green"), dim=16, description='Colour\nof "things"')
    for suffix in (".toml", ".json"):
        path = tmp_path / f"lens{suffix}"
        lens.save(path)
        assert LensDefinition.load(path) == lens


def test_toml_uses_default_template_and_rejects_unknown_keys() -> None:
    lens = LensDefinition.from_toml('name = "pets"\nvalues = ["dog", "cat"]\n')
    assert lens.prompts() == ["a photo of dog", "a photo of cat"]
    with pytest.raises(LensDefinitionError, match="unknown keys value"):
        LensDefinition.from_toml('name = "pets"\nvalue = ["dog", "cat"]\n')
    with pytest.raises(LensDefinitionError, match="'values' is missing"):
        LensDefinition.from_toml('name = "pets"\n')


def test_broken_files_give_definition_errors(tmp_path) -> None:
    with pytest.raises(LensDefinitionError, match="not valid TOML"):
        LensDefinition.from_toml("name = ")
    with pytest.raises(LensDefinitionError, match="not valid JSON"):
        LensDefinition.from_json("{")
    with pytest.raises(LensDefinitionError, match="expected a table"):
        LensDefinition.from_json(json.dumps(["red", "blue"]))
    with pytest.raises(LensDefinitionError, match=r"must end in \.toml or \.json"):
        LensDefinition.load(tmp_path / "lens.yaml")
    with pytest.raises(LensDefinitionError, match="cannot read"):
        LensDefinition.load(tmp_path / "missing.toml")


def test_cli_form_splits_values_on_commas_and_keeps_template_commas() -> None:
    lens = LensDefinition.from_cli("colour", "red, orange ,yellow", "a photo of a {} thing, outdoors", dim=8)
    assert lens.values == ("red", "orange", "yellow")
    assert lens.templates == ("a photo of a {} thing, outdoors",)
    assert lens.dim == 8
    assert LensDefinition.from_cli("c", "red, blue", ["a {}", "{} light"]).templates == ("a {}", "{} light")
    with pytest.raises(LensDefinitionError, match="Value #2 is empty"):
        LensDefinition.from_cli("colour", "red,,blue")


def test_presets_cover_the_main_notions_and_all_load() -> None:
    names = list_presets()
    assert len(names) >= 12
    assert {"colour", "time-of-day", "season", "weather", "animal", "food", "event", "mood"} <= set(names)
    for name in names:
        lens = load_preset(name)
        assert lens.name == name
        assert len(lens.templates) >= 3 or len(lens.values) >= 10
        assert len(lens.prompts()) == len(lens.values) * len(lens.templates)


def test_unknown_preset_lists_what_exists() -> None:
    with pytest.raises(LensDefinitionError, match="Available: .*colour"):
        load_preset("no-such-lens")


def test_presets_fall_back_to_package_data_and_say_when_none_exist(tmp_path, monkeypatch) -> None:
    from photolens.lenses import presets

    monkeypatch.setattr(presets.resources, "files", lambda _package: tmp_path / "photolens")
    assert presets.list_presets() == []
    with pytest.raises(LensDefinitionError, match="none installed"):
        presets.load_preset("colour")
    packaged = tmp_path / "photolens" / "resources" / "lenses"
    packaged.mkdir(parents=True)
    make(name="packaged").save(packaged / "packaged.toml")
    assert presets.list_presets() == ["packaged"]
    assert presets.load_preset("packaged").values == ("red", "blue", "green")

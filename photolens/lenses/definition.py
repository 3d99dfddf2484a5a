"""What a lens is before it is fitted: a name, value words and prompt templates.

A definition is plain data, validated on construction so that every later step (prompt encoding, fit,
persistence, display) can trust it. It reads and writes TOML and JSON with the same flat keys::

    name = "colour"
    description = "Dominant colour"
    values = ["red", "orange", "yellow"]
    templates = ["a photo of a {} scene", "{} light"]
    dim = 128            # optional: output dimension, default a quarter of the embedding size
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from photolens.lenses.errors import LensDefinitionError

SLOT = "{}"
DEFAULT_TEMPLATES: tuple[str, ...] = ("a photo of {}",)
MAX_NAME_LENGTH = 64
NAME_PUNCTUATION = frozenset(" _-.")
MAX_WORD_LENGTH = 100
MAX_TEMPLATE_LENGTH = 300
MAX_DESCRIPTION_LENGTH = 2000
MAX_TEMPLATES = 100
MAX_PROMPTS = 2000  # the paper's largest notion has 550 words; beyond this encoding costs minutes on CPU
MIN_VALUES = 2
MIN_DIM = 2
_KEYS = ("name", "description", "values", "templates", "dim")


def default_dim(embedding_dim: int) -> int:
    """The paper's lens size: a quarter of the embedding (128 for 512)."""
    return max(MIN_DIM, embedding_dim // 4)


def _has_control(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise LensDefinitionError(f"Lens name must be text, got {type(name).__name__}.")
    name = name.strip()
    if not name:
        raise LensDefinitionError("Lens name is empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise LensDefinitionError(
            f"Lens name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}."
        )
    bad = sorted({ch for ch in name if not (ch.isalnum() or ch in NAME_PUNCTUATION)})
    if bad or not name[0].isalnum():
        shown = " ".join(repr(ch) for ch in bad) if bad else repr(name[0])
        raise LensDefinitionError(
            f"Lens name {name!r} has characters that are not allowed ({shown}): use letters, digits, "
            "spaces, '-', '_' or '.', starting with a letter or digit."
        )
    return name


def _check_values(values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise LensDefinitionError("Lens values must be a list of words.")
    words: list[str] = []
    seen: dict[str, str] = {}
    for position, raw in enumerate(values, start=1):
        if not isinstance(raw, str):
            raise LensDefinitionError(f"Value #{position} is not text: {raw!r}.")
        word = " ".join(raw.split())
        if not word:
            raise LensDefinitionError(f"Value #{position} is empty.")
        if len(word) > MAX_WORD_LENGTH:
            raise LensDefinitionError(f"Value {word[:40]!r}… is longer than {MAX_WORD_LENGTH} characters.")
        if _has_control(word):
            raise LensDefinitionError(f"Value {word!r} contains control characters.")
        key = word.casefold()  # CLIP's tokenizer lowercases: 'Red' and 'red' are the same prompt
        if key in seen:
            raise LensDefinitionError(f"Value {word!r} appears twice (as {seen[key]!r} before).")
        seen[key] = word
        words.append(word)
    if len(words) < MIN_VALUES:
        raise LensDefinitionError(
            f"A lens needs at least {MIN_VALUES} values to tell apart, got {len(words)}."
        )
    return tuple(words)


def _check_templates(templates: object) -> tuple[str, ...]:
    if isinstance(templates, str):
        templates = (templates,)
    if not isinstance(templates, Iterable):
        raise LensDefinitionError("Lens templates must be a list of texts with one '{}' slot each.")
    result: list[str] = []
    for raw in templates:
        if not isinstance(raw, str):
            raise LensDefinitionError(f"Template {raw!r} is not text.")
        template = " ".join(raw.split())
        if len(template) > MAX_TEMPLATE_LENGTH:
            raise LensDefinitionError(
                f"Template {template[:40]!r}… is longer than {MAX_TEMPLATE_LENGTH} characters."
            )
        if _has_control(template):
            raise LensDefinitionError(f"Template {template!r} contains control characters.")
        slots = template.count(SLOT)
        if slots != 1:
            what = "no" if slots == 0 else f"{slots}"
            raise LensDefinitionError(f"Template {template!r} has {what} '{{}}' slots; it needs exactly one.")
        if template.replace(SLOT, "").count("{") or template.replace(SLOT, "").count("}"):
            raise LensDefinitionError(f"Template {template!r} has braces other than its one '{{}}' slot.")
        if template in result:
            raise LensDefinitionError(f"Template {template!r} appears twice.")
        result.append(template)
    if not result:
        raise LensDefinitionError("A lens needs at least one template.")
    if len(result) > MAX_TEMPLATES:
        raise LensDefinitionError(f"A lens has {len(result)} templates; the limit is {MAX_TEMPLATES}.")
    return tuple(result)


def _check_dim(dim: object) -> int | None:
    if dim is None:
        return None
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise LensDefinitionError(f"Lens dim must be a whole number, got {dim!r}.")
    if dim < MIN_DIM:
        raise LensDefinitionError(f"Lens dim {dim} is too small; it must be at least {MIN_DIM}.")
    return dim


def _check_description(description: object) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise LensDefinitionError("Lens description must be text.")
    description = description.strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise LensDefinitionError(f"Lens description is longer than {MAX_DESCRIPTION_LENGTH} characters.")
    if _has_control(description, allowed="\n\t"):
        raise LensDefinitionError("Lens description contains control characters.")
    return description


def _toml_string(text: str) -> str:
    # JSON's escapes are valid TOML basic-string escapes; DEL must be escaped in TOML but not in JSON.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_array(items: Sequence[str]) -> str:
    return "[\n" + "".join(f"    {_toml_string(item)},\n" for item in items) + "]"


@dataclass(frozen=True)
class LensDefinition:
    """A validated lens definition. Words and templates are whitespace-normalised on construction."""

    name: str
    values: tuple[str, ...]
    templates: tuple[str, ...] = DEFAULT_TEMPLATES
    dim: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _check_name(self.name))
        object.__setattr__(self, "values", _check_values(self.values))
        object.__setattr__(self, "templates", _check_templates(self.templates))
        object.__setattr__(self, "dim", _check_dim(self.dim))
        object.__setattr__(self, "description", _check_description(self.description))
        count = len(self.prompts())
        if count > MAX_PROMPTS:
            raise LensDefinitionError(
                f"Lens {self.name!r} makes {count} prompts ({len(self.values)} values × {len(self.templates)} "
                f"templates); the limit is {MAX_PROMPTS}. Use fewer templates or words."
            )

    def prompts(self) -> list[str]:
        """Every template filled with every word, deduplicated, word-major and stable."""
        return list(dict.fromkeys(t.replace(SLOT, w) for w in self.values for t in self.templates))

    def prompt_owners(self) -> list[tuple[int, ...]]:
        """For each prompt of :meth:`prompts`, the indices of the values that produce it.

        Usually one value per prompt; two words can collide through different templates
        (``"a {} car"`` + ``"red"`` and ``"a red {}"`` + ``"car"``), and then the prompt belongs to both.
        """
        owners: dict[str, dict[int, None]] = {}
        for index, word in enumerate(self.values):
            for template in self.templates:
                owners.setdefault(template.replace(SLOT, word), {})[index] = None
        return [tuple(found) for found in owners.values()]

    def output_dim(self, embedding_dim: int) -> int:
        """The lens dimension k for an embedding of size d: ``dim`` or d/4 (the paper's 128 for 512)."""
        if embedding_dim < MIN_DIM:
            raise LensDefinitionError(f"Embedding dimension {embedding_dim} is too small for a lens.")
        if self.dim is None:
            return default_dim(embedding_dim)
        if self.dim > embedding_dim:
            raise LensDefinitionError(
                f"Lens {self.name!r} asks for dim {self.dim}, more than the embedding's {embedding_dim}."
            )
        return self.dim

    # ---- mapping / files -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.description:
            data["description"] = self.description
        data["values"] = list(self.values)
        data["templates"] = list(self.templates)
        if self.dim is not None:
            data["dim"] = self.dim
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "lens definition") -> LensDefinition:
        if not isinstance(data, Mapping):
            raise LensDefinitionError(f"{source}: expected a table of keys, got {type(data).__name__}.")
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise LensDefinitionError(
                f"{source}: unknown keys {', '.join(unknown)}; allowed are {', '.join(_KEYS)}."
            )
        for required in ("name", "values"):
            if required not in data:
                raise LensDefinitionError(f"{source}: the key {required!r} is missing.")
        return cls(
            name=data["name"],
            values=data["values"],
            templates=data.get("templates", DEFAULT_TEMPLATES),
            dim=data.get("dim"),
            description=data.get("description", ""),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "JSON lens definition") -> LensDefinition:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LensDefinitionError(f"{source}: not valid JSON ({exc}).") from exc
        return cls.from_dict(data, source)

    def to_toml(self) -> str:
        lines = [f"name = {_toml_string(self.name)}"]
        if self.description:
            lines.append(f"description = {_toml_string(self.description)}")
        lines.append(f"values = {_toml_array(self.values)}")
        lines.append(f"templates = {_toml_array(self.templates)}")
        if self.dim is not None:
            lines.append(f"dim = {self.dim}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str, source: str = "TOML lens definition") -> LensDefinition:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LensDefinitionError(f"{source}: not valid TOML ({exc}).") from exc
        return cls.from_dict(data, source)

    @classmethod
    def load(cls, path: str | Path) -> LensDefinition:
        """Read a ``.toml`` or ``.json`` file (chosen by suffix)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise LensDefinitionError(f"{path}: lens files must end in .toml or .json.")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LensDefinitionError(f"{path}: cannot read the lens file ({exc}).") from exc
        return cls.from_toml(text, str(path)) if suffix == ".toml" else cls.from_json(text, str(path))

    def save(self, path: str | Path) -> None:
        """Write a ``.toml`` or ``.json`` file (chosen by suffix)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise LensDefinitionError(f"{path}: lens files must end in .toml or .json.")
        path.write_text(self.to_toml() if suffix == ".toml" else self.to_json(), encoding="utf-8")

    @classmethod
    def from_cli(
        cls,
        name: str,
        values: str,
        templates: str | Sequence[str] | None = None,
        dim: int | None = None,
        description: str = "",
    ) -> LensDefinition:
        """Build from command-line text: ``values="red, orange, yellow"`` (comma-separated) and one
        template or a list of them (a repeated option), since templates may themselves contain commas."""
        words = [] if not values.strip() else values.split(",")
        return cls(
            name=name,
            values=tuple(words),
            templates=DEFAULT_TEMPLATES if templates is None else templates,
            dim=dim,
            description=description,
        )

"""The config schema: defaults documented in configs/default.yaml, and readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from pipeline.config import Config, load_config
from pipeline.errors import ConfigError

from .conftest import REPO

DEFAULT_YAML = REPO / "configs" / "default.yaml"


def _fields(model: type[BaseModel], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.update(_fields(ann, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = field
    return out


def _flatten(data: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_default_yaml_lists_every_setting_with_its_default() -> None:
    documented = _flatten(yaml.safe_load(DEFAULT_YAML.read_text(encoding="utf-8")))
    defaults = _flatten(Config().model_dump(mode="json"))
    assert documented == defaults


def test_every_setting_has_a_description_and_a_comment_in_default_yaml() -> None:
    text = DEFAULT_YAML.read_text(encoding="utf-8")
    for key, field in _fields(Config).items():
        assert field.description, f"{key} has no description"  # type: ignore[attr-defined]
        leaf = key.split(".")[-1]
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"{leaf}:"))
        assert "#" in line, f"{key} has no comment in default.yaml"


def test_default_config_loads_and_resolves_paths_against_its_folder() -> None:
    cfg = load_config(DEFAULT_YAML)
    assert cfg.resolve(cfg.input.paths[0]) == REPO / "seeds"
    assert cfg.run_dir == REPO / "runs" / "seeds"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model:\n  num_topic: 5\n", "model.num_topic: unknown setting (did you mean 'num_topics'?)"),
        ("modle:\n  num_topics: 5\n", "modle: unknown setting (did you mean 'model'?)"),
        (
            "model:\n  num_topics: many\n",
            "model.num_topics: invalid value 'many' (Input should be a valid integer, "
            "unable to parse string as an integer)",
        ),
        (
            "model:\n  num_topics: 0\n",
            "model.num_topics: invalid value 0 (every number of topics must be at least 2)",
        ),
        (
            "dictionary:\n  no_above: 1.5\n",
            "dictionary.no_above: invalid value 1.5 (Input should be less than or equal to 1)",
        ),
        (
            "input:\n  format: xml\n",
            "input.format: invalid value 'xml' (allowed: 'auto', 'txt', 'csv' or 'jsonl')",
        ),
        (
            "segment:\n  min_chars: 700\n",
            "segment: invalid value {'min_chars': 700} (min_chars (700) must be below max_chars (600))",
        ),
        ("- a\n- b\n", "the config must be a mapping of sections (run:, input:, ...)"),
    ],
)
def test_config_errors_name_key_value_and_what_is_allowed(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {message}"


def test_invalid_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "model:\n  num_topics: 5\n passes: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:3:2: invalid YAML: ")


def test_overrides_are_typed_and_checked() -> None:
    cfg = load_config(DEFAULT_YAML, ["model.num_topics=5", "model.alpha=0.1", "run.name=other"])
    assert (cfg.model.num_topics, cfg.model.alpha, cfg.run.name) == (5, 0.1, "other")
    with pytest.raises(
        ConfigError, match=r"model.num_topcs: unknown setting \(did you mean 'num_topics'\?\)"
    ):
        load_config(DEFAULT_YAML, ["model.num_topcs=5"])
    with pytest.raises(ConfigError, match=r"expected key\.path=value"):
        load_config(DEFAULT_YAML, ["model.num_topics"])

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
        # Priors: a number must be above 0; the names are listed with the number.
        ("model:\n  alpha: -1\n", "model.alpha: invalid value -1 (Input should be greater than 0)"),
        ("model:\n  alpha: 0\n", "model.alpha: invalid value 0 (Input should be greater than 0)"),
        ("model:\n  eta: 0\n", "model.eta: invalid value 0 (Input should be greater than 0)"),
        ("model:\n  eta: -0.5\n", "model.eta: invalid value -0.5 (Input should be greater than 0)"),
        ("model:\n  alpha: .inf\n", "model.alpha: invalid value inf (Input should be a finite number)"),
        (
            "model:\n  alpha: autoo\n",
            "model.alpha: invalid value 'autoo' "
            "(allowed: 'symmetric', 'asymmetric', 'auto' or a number above 0)",
        ),
        (
            "model:\n  eta: asymmetric\n",
            "model.eta: invalid value 'asymmetric' (allowed: 'symmetric', 'auto' or a number above 0)",
        ),
        # Booleans only where booleans belong, numbers only where numbers belong.
        (
            "model:\n  passes: true\n",
            "model.passes: invalid value true (a number is needed here, not true or false)",
        ),
        (
            "dictionary:\n  no_above: true\n",
            "dictionary.no_above: invalid value true (a number is needed here, not true or false)",
        ),
        ("segment:\n  furniture: 1\n", "segment.furniture: invalid value 1 (allowed: true or false)"),
        ("segment:\n  furniture: 'yes'\n", "segment.furniture: invalid value 'yes' (allowed: true or false)"),
        # A mapping for num_topics is checked as {min, max, step}, not reported as "not an integer".
        (
            "model:\n  num_topics: {min: 4, mx: 12}\n",
            "model.num_topics.mx: unknown setting (did you mean 'max'?)",
        ),
        ("model:\n  num_topics: {min: 4}\n", "model.num_topics.max: required setting is missing"),
        # Rules across sections.
        (
            "input:\n  label_field: label\n",
            "input.label_field: invalid value 'label' (not one of input.meta_fields; "
            "add it to input.meta_fields: [label])",
        ),
        (
            "input:\n  meta_fields: [label]\nreport:\n  prevalence_field: date\n",
            "report.prevalence_field: invalid value 'date' (not one of input.meta_fields; "
            "add it to input.meta_fields: [label, date])",
        ),
        # Regular expressions are compiled and encodings looked up at load.
        (
            "segment:\n  furniture_patterns: ['^ok$', 'a(b', 'fine']\n",
            "segment.furniture_patterns[1]: invalid value 'a(b' (not a regular expression: missing ), "
            "unterminated subpattern at position 1; put \\ before ( ) [ ] . * + ? to match them as text)",
        ),
        (
            "input:\n  encoding: utf9\n",
            "input.encoding: invalid value 'utf9' (unknown text encoding; use auto, or a Python codec name "
            "such as utf-8, gb18030 or big5)",
        ),
        (
            "input:\n  encoding: base64\n",
            "input.encoding: invalid value 'base64' (unknown text encoding; use auto, or a Python codec name "
            "such as utf-8, gb18030 or big5)",
        ),
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
    with pytest.raises(ConfigError, match=r"expected key\.path=value"):
        load_config(DEFAULT_YAML, ["model.num_topics"])


@pytest.mark.parametrize(
    ("text", "overrides", "lines"),
    [
        # A problem is named where its value came from: the --set that gave it, or the file.
        (
            "",
            ["model.num_topic=5"],
            ["--set model.num_topic=5: unknown setting (did you mean 'num_topics'?)"],
        ),
        (
            "model:\n  passes: 3\n",
            ["model.passes=lots"],
            [
                "--set model.passes=lots: invalid value 'lots' "
                "(Input should be a valid integer, unable to parse string as an integer)"
            ],
        ),
        (
            "model:\n  passes: 0\n",
            ["model.alpha=0.1"],
            ["{path}: model.passes: invalid value 0 (Input should be greater than or equal to 1)"],
        ),
        # A --set of a mapping is named with the key inside it that is wrong.
        (
            "",
            ["model.num_topics={min: 4, mx: 12}"],
            [
                "--set model.num_topics={min: 4, mx: 12}: model.num_topics.mx: unknown setting "
                "(did you mean 'max'?)"
            ],
        ),
        # The last --set of a setting gave it.
        (
            "",
            ["model.passes=0", "model.passes=lots"],
            [
                "--set model.passes=lots: invalid value 'lots' "
                "(Input should be a valid integer, unable to parse string as an integer)"
            ],
        ),
        (
            "",
            ["model.passes=lots", "model={passes: 0}"],
            [
                "--set model={passes: 0}: model.passes: invalid value 0 "
                "(Input should be greater than or equal to 1)"
            ],
        ),
        # A rule on a whole section names the --set inside it.
        (
            "segment:\n  max_chars: 100\n",
            ["segment.min_chars=200"],
            [
                "--set segment.min_chars=200: segment: invalid value {'max_chars': 100, 'min_chars': 200} "
                "(min_chars (200) must be below max_chars (100))"
            ],
        ),
        (
            "input:\n  meta_fields: [date]\n",
            ["input.label_field=label"],
            [
                "--set input.label_field=label: invalid value 'label' (not one of input.meta_fields; "
                "add it to input.meta_fields: [date, label])"
            ],
        ),
        (
            "model:\n  pases: 1\n",
            ["dictionary.no_above=0"],
            [
                "{path}: model.pases: unknown setting (did you mean 'passes'?)",
                "--set dictionary.no_above=0: invalid value 0 (Input should be greater than 0)",
            ],
        ),
    ],
)
def test_problems_name_the_set_or_the_file_that_gave_the_value(
    tmp_path: Path, text: str, overrides: list[str], lines: list[str]
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides)
    assert str(err.value).splitlines() == [line.replace("{path}", str(path)) for line in lines]


def test_duplicate_keys_name_file_line_and_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "model:\n  passes: 5\n  num_topics: 6\n  passes: 7\nrun:\n  seed: 1\nmodel:\n  eta: auto\n",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).splitlines() == [
        f"{path}:4:3: model.passes: duplicate key (first given at line 2; keep one of them)",
        f"{path}:7:1: model: duplicate key (first given at line 1; keep one of them)",
    ]


def test_the_same_key_in_different_mappings_is_no_duplicate(tmp_path: Path) -> None:
    path = _write(tmp_path, "model:\n  seed_strength: 2\nreport:\n  top_terms: 2\nsegment:\n  min_chars: 2\n")
    cfg = load_config(path)
    assert (cfg.model.seed_strength, cfg.report.top_terms, cfg.segment.min_chars) == (2, 2, 2)


def test_retired_worker_settings_still_load_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "model:\n  workers: 2\n  sweep_workers: 2\n")
    cfg = load_config(path, ["model.passes=3", "tokenize.workers=2"])
    assert cfg.model.passes == 3 and cfg.executor.workers == 0
    retired = (
        "no longer a setting and is ignored: executor.workers sets the worker "
        "processes of every stage, training included (remove it)"
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"--set tokenize.workers=2: {retired}",
        f"{path}: model.workers: {retired}",
        f"{path}: model.sweep_workers: {retired}",
    ]


def test_every_problem_is_reported_one_line_each_unknown_keys_first(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "modle:\n  passes: 3\n"
        "input:\n  format: xml\n"
        "model:\n  passes: true\n  alpha: -1\n"
        "segment:\n  furniture_patterns: ['(', ok, '*']\n"
        # input is invalid, so the rule tying this to input.meta_fields waits until it is fixed.
        "report:\n  prevalence_field: date\n",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    regex_fix = "put \\ before ( ) [ ] . * + ? to match them as text"
    assert str(err.value).splitlines() == [
        f"{path}: modle: unknown setting (did you mean 'model'?)",
        f"{path}: input.format: invalid value 'xml' (allowed: 'auto', 'txt', 'csv' or 'jsonl')",
        f"{path}: segment.furniture_patterns[0]: invalid value '(' (not a regular expression: "
        f"missing ), unterminated subpattern at position 0; {regex_fix})",
        f"{path}: segment.furniture_patterns[2]: invalid value '*' (not a regular expression: "
        f"nothing to repeat at position 0; {regex_fix})",
        f"{path}: model.passes: invalid value true (a number is needed here, not true or false)",
        f"{path}: model.alpha: invalid value -1 (Input should be greater than 0)",
    ]


def test_rules_across_sections_are_reported_with_problems_elsewhere(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "input:\n  meta_fields: [date]\n  label_field: label\n"
        "report:\n  prevalence_field: month\n"
        "model:\n  eta: auto\n  passes: 0\n",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    fix = "add it to input.meta_fields: [date, label, month]"
    assert str(err.value).splitlines() == [
        f"{path}: model.passes: invalid value 0 (Input should be greater than or equal to 1)",
        f"{path}: input.label_field: invalid value 'label' (not one of input.meta_fields; {fix})",
        f"{path}: report.prevalence_field: invalid value 'month' (not one of input.meta_fields; {fix})",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "input:\n  meta_fields: [date, label]\n  label_field: label\nreport:\n  prevalence_field: date\n",
        "model:\n  alpha: symmetric\n  eta: 0.01\n",
        "segment:\n  furniture_patterns: ['^\\(广告\\)', '^分享到']\n",
        "input:\n  encoding: GBK\n",
    ],
)
def test_consistent_settings_pass_the_rules(tmp_path: Path, text: str) -> None:
    expected = yaml.safe_load(text)
    cfg = load_config(_write(tmp_path, text))
    for section, values in expected.items():
        assert getattr(cfg, section).model_dump(include=set(values)) == values


def test_valid_values_of_every_form_still_load(tmp_path: Path) -> None:
    text = "model:\n  alpha: 0.1\n  eta: 1e-3\n  num_topics: {min: 4, max: 12}\ndictionary:\n  no_above: 1\n"
    cfg = load_config(_write(tmp_path, text))
    assert (cfg.model.alpha, cfg.model.eta, cfg.dictionary.no_above) == (0.1, 0.001, 1.0)
    assert isinstance(cfg.dictionary.no_above, float)
    assert cfg.model.k_values() == list(range(4, 13))
    cfg = load_config(_write(tmp_path, "model:\n  alpha: auto\n  eta: auto\n"))
    assert (cfg.model.alpha, cfg.model.eta) == ("auto", "auto")
    cfg = load_config(DEFAULT_YAML, ["model.passes=5", "model.alpha=1", "segment.furniture=false"])
    assert (cfg.model.passes, cfg.model.alpha, cfg.segment.furniture) == (5, 1.0, False)
    # The engines tell a number from a name with isinstance(alpha, float): an int must not stay one.
    assert isinstance(cfg.model.alpha, float)


def test_title_field_needs_not_be_a_meta_field(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "input:\n  title_field: title\n  meta_fields: [date]\n"))
    assert (cfg.input.title_field, cfg.input.meta_fields) == ("title", ["date"])

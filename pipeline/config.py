"""The configuration schema, and the one place a config file is read and checked.

Each section is a pydantic model that rejects unknown keys; every field carries a
default and a one-line description, and ``configs/default.yaml`` mirrors them (a
test keeps the two equal). Stages receive a validated ``Config`` and trust it: every
rule that can be checked before work starts is checked by ``load_config``, which
reports all the problems it finds, one line each.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StrictBool,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from pipeline.errors import ConfigError
from pipeline.yamlfile import DuplicateKeys, load_unique

log = logging.getLogger(__name__)

S = TypeVar("S", bound="Section")


def _not_a_bool(value: Any) -> Any:
    # YAML reads true/false/yes/no as booleans, and pydantic would take them as 1 and 0.
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "a number is needed here, not true or false")
    return value


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"not a regular expression: {exc}; put \\ before ( ) [ ] . * + ? to match them as text"
        ) from None
    return pattern


def _text_encoding(name: str) -> str:
    if name == "auto":
        return name
    try:
        # A lookup alone accepts codecs such as base64 that cannot decode bytes to text.
        b"a".decode(name)
    except LookupError:
        raise ValueError(
            "unknown text encoding; use auto, or a Python codec name such as utf-8, gb18030 or big5"
        ) from None
    except (UnicodeError, ValueError):
        pass  # a text codec that cannot decode this one byte
    return name


# Numbers that refuse booleans; strings that read as numbers (a quoted "0.5", 1e-3,
# which YAML 1.1 leaves a string) are still taken, as before.
Int = Annotated[int, BeforeValidator(_not_a_bool)]
Float = Annotated[float, BeforeValidator(_not_a_bool), AllowInfNan(False)]
Bool = StrictBool  # true or false only: not 1, 0 or the string 'yes'
Regex = Annotated[str, AfterValidator(_regex)]

# Union members are tagged by the input's shape, so a wrong value is reported against
# the member it was meant for (a mapping against {min, max, step}), not the first one.
NUMBER, NAME, LIST, RANGE = "<number>", "<name>", "<list>", "<range>"


def _k_shape(value: Any) -> str:
    if isinstance(value, dict | BaseModel):
        return RANGE
    return LIST if isinstance(value, list) else NUMBER


def _prior_shape(value: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return NAME
    return NUMBER


Prior = Annotated[Float, Field(gt=0), Tag(NUMBER)]
Alpha = Annotated[
    Annotated[Literal["symmetric", "asymmetric", "auto"], Tag(NAME)] | Prior, Discriminator(_prior_shape)
]
Eta = Annotated[Annotated[Literal["symmetric", "auto"], Tag(NAME)] | Prior, Discriminator(_prior_shape)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RunConfig(Section):
    name: str = Field(
        "seeds",
        min_length=1,
        description="Run name: outputs go to <output_dir>/<name>/.",
    )
    seed: Int = Field(42, ge=0, description="Random seed for training and inference.")
    output_dir: str = Field("../runs", description="Folder that holds the run folders.")

    @field_validator("name")
    @classmethod
    def _plain_folder_name(cls, v: str) -> str:
        # "." and ".." would name the output folder itself or its parent; a path would
        # reach outside it.
        if not re.fullmatch(r"\w[\w.-]*", v):
            raise ValueError(
                "one plain folder name is needed: letters, digits, '_', '-' and '.', not starting with '.'"
            )
        return v


InputFormat = Literal["auto", "txt", "csv", "jsonl"]


class InputConfig(Section):
    paths: list[str] = Field(["../seeds"], min_length=1, description="Input files, folders or glob patterns.")
    format: InputFormat = Field("auto", description="Input format; auto picks by file extension.")
    text_field: str = Field(
        "text", description="Column or key holding the text (csv, jsonl): a string, or a list of paragraphs."
    )
    id_field: str | None = Field(None, description="Column or key holding a document id (csv, jsonl).")
    title_field: str | None = Field(
        None,
        description="Column or key holding each document's display name (csv, jsonl); "
        "none: its first title or heading line, else the start of its text.",
    )
    meta_fields: list[str] = Field([], description="Columns or keys carried into every output row.")
    encoding: Annotated[str, AfterValidator(_text_encoding)] = Field(
        "auto", description="Text encoding (a Python codec name), or auto to detect it per file."
    )
    label_field: str | None = Field(
        None,
        description="One of meta_fields, with known labels: topics are scored against it (NMI, ARI, purity).",
    )


class SegmentConfig(Section):
    min_chars: Int = Field(30, ge=1, description="Units shorter than this are merged with a neighbour.")
    max_chars: Int = Field(600, ge=20, description="Units longer than this are split at sentence ends.")
    heading_max_chars: Int = Field(
        40, ge=1, description="A line this short without sentence-final punctuation is a heading."
    )
    furniture: Bool = Field(True, description="Drop web-page furniture lines with the built-in patterns.")
    furniture_patterns: list[Regex] = Field(
        [], description="Extra regular expressions: matching lines are dropped as furniture."
    )
    to_simplified: Bool = Field(
        False, description="Convert traditional to simplified characters for analysis (OpenCC t2s)."
    )
    boilerplate: Bool = Field(
        True,
        description="Drop paragraphs, and spans at a paragraph's start or end, that repeat across documents.",
    )
    boilerplate_share: Float = Field(
        0.01, gt=0, lt=1, description="Boilerplate is found in more than this share of the documents."
    )
    boilerplate_min_docs: Int = Field(
        10, ge=2, description="Boilerplate is found in at least this many documents."
    )
    duplicates: Bool = Field(True, description="Find near-duplicate documents (MinHash LSH, duplicates.csv).")
    duplicate_similarity: Float = Field(
        0.7, gt=0, le=1, description="Jaccard similarity of 3-character shingles that makes a near-duplicate."
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> SegmentConfig:
        if self.min_chars >= self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) must be below max_chars ({self.max_chars})")
        return self


class TokenizeConfig(Section):
    engine: Literal["jieba", "rjieba"] = Field(
        "rjieba",
        description="Word segmenter: rjieba (jieba-rs, several times faster) or jieba; same dictionaries.",
    )
    stopwords: list[str] = Field(
        [], description="Stopword files (one word a line) added to the built-in list."
    )
    keep_words: list[str] = Field([], description="Words removed from the stopword list.")
    builtin_stopwords: Bool = Field(True, description="Use the built-in stopword list.")
    userdict: list[str] = Field([], description="jieba user dictionaries: 'word [freq] [pos]' a line.")
    builtin_userdict: Bool = Field(True, description="Use the built-in domain dictionary.")
    hmm: Bool = Field(True, description="Let jieba's HMM join unknown words.")
    min_len: Int = Field(2, ge=1, description="Drop tokens shorter than this many characters.")
    drop_numbers: Bool = Field(True, description="Drop tokens that are numbers (Arabic or Chinese numerals).")
    drop_latin: Bool = Field(True, description="Drop tokens made only of Latin letters and digits.")
    pos: list[str] = Field(
        [], description="Part-of-speech tags to keep (jieba.posseg, e.g. [n, v]); empty keeps all."
    )
    phrases: Bool = Field(False, description="Join frequent collocations with gensim Phrases (npmi).")
    phrases_threshold: Float = Field(0.5, gt=-1, le=1, description="NPMI score a collocation needs.")
    phrases_min_count: Int = Field(5, ge=1, description="Occurrences a collocation needs.")
    new_words: Bool = Field(
        True, description="Find words the segmenter cuts (一带一路) in the corpus and keep them whole."
    )
    new_words_min_count: Int = Field(
        10, ge=2, description="Occurrences a new word needs in the sample it is found in."
    )


class DictionaryConfig(Section):
    no_below: Int = Field(5, ge=1, description="Drop terms in fewer than this many units.")
    no_above: Float = Field(0.5, gt=0, le=1, description="Drop terms in more than this share of units.")
    keep_n: Int = Field(100000, ge=1, description="Keep at most this many most frequent terms.")


class KRange(Section):
    min: Int = Field(..., ge=2, description="Smallest number of topics.")
    max: Int = Field(..., ge=2, description="Largest number of topics.")
    step: Int = Field(1, ge=1, description="Step between numbers of topics.")

    @model_validator(mode="after")
    def _ordered(self) -> KRange:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must not be below min ({self.min})")
        return self


NumTopics = Annotated[
    Annotated[Int, Tag(NUMBER)] | Annotated[list[Int], Tag(LIST)] | Annotated[KRange, Tag(RANGE)],
    Discriminator(_k_shape),
]


class ModelConfig(Section):
    engine: Literal["gensim", "tomotopy", "sklearn"] = Field(
        "gensim",
        description="gensim (variational Bayes), tomotopy (collapsed Gibbs sampling) or sklearn "
        "(scikit-learn's batch variational Bayes).",
    )
    num_topics: NumTopics = Field(
        8, description="Number of topics K: a number, a list, or {min, max, step} to sweep."
    )
    seeds: Int = Field(1, ge=1, description="Models trained per K with seeds run.seed, run.seed+1, ...")
    passes: Int = Field(20, ge=1, description="gensim, sklearn: passes over the corpus during training.")
    iterations: Int = Field(
        400,
        ge=1,
        description="gensim, sklearn: inference iterations per unit; tomotopy: sampling iterations.",
    )
    alpha: Alpha = Field(
        "auto", description="Document-topic prior (alpha): symmetric, asymmetric, auto or a number above 0."
    )
    eta: Eta = Field(
        "symmetric", description="Topic-word prior (eta, beta): symmetric, auto or a number above 0."
    )
    chunksize: Int = Field(2000, ge=1, description="gensim: units per training chunk.")
    init: Literal["nmf", "random"] = Field(
        "nmf",
        description="gensim: starting topics: nmf (a seeded factorisation of the tf-idf units) or random.",
    )
    update_every: Int = Field(
        0,
        ge=0,
        description="gensim: 0 is batch learning (full EM, an update a pass); N: online, every N chunks.",
    )
    heldout: Float = Field(0.1, gt=0, lt=1, description="Share of units held out for perplexity in a sweep.")
    seed_words: list[list[str]] = Field(
        [], description="Word lists that anchor topics 0, 1, ... through the eta prior."
    )
    seed_strength: Float = Field(
        1.0, gt=0, description="Prior weight of a seed word in its topic, in average term counts."
    )
    train_duplicates: Bool = Field(
        False, description="Train on near-duplicate documents too, and quote them (they always get mixes)."
    )
    document_mix: Literal["whole", "units"] = Field(
        "whole",
        description="documents.csv's mix: whole (its bag of words inferred with the topics) or units "
        "(the token-weighted mean of its units' mixes).",
    )

    @field_validator("num_topics")
    @classmethod
    def _k_values(cls, v: int | list[int] | KRange) -> int | list[int] | KRange:
        values = v if isinstance(v, list) else [v] if isinstance(v, int) else [v.min]
        if not values or min(values) < 2:
            raise ValueError("every number of topics must be at least 2")
        return v

    def k_values(self) -> list[int]:
        """The numbers of topics to train, in increasing order."""
        k = self.num_topics
        if isinstance(k, int):
            return [k]
        if isinstance(k, list):
            return sorted(set(k))
        return list(range(k.min, k.max + 1, k.step))

    @model_validator(mode="after")
    def _seed_words_fit(self) -> ModelConfig:
        if len(self.seed_words) > min(self.k_values()):
            raise ValueError(f"{len(self.seed_words)} seed word lists for {min(self.k_values())} topics")
        return self


class ReportConfig(Section):
    top_terms: Int = Field(10, ge=1, description="Terms listed per topic.")
    representatives: Int = Field(3, ge=0, description="Representative passages listed per topic.")
    one_per_document: Bool = Field(False, description="At most one representative passage per document.")
    excerpt_chars: Int = Field(160, ge=20, description="Characters of a passage quoted in the report.")
    relevance_lambda: Float = Field(
        0.6, ge=0, le=1, description="lambda of the LDAvis relevance ranking (1 = by probability)."
    )
    relevance_min_count: Int = Field(
        10, ge=1, description="Terms counted fewer times in the corpus are left out of the relevance ranking."
    )
    export: list[Literal["parquet", "xlsx"]] = Field(
        [], description="Extra formats: parquet (assignments.parquet), xlsx (results.xlsx workbook)."
    )
    prevalence_field: str | None = Field(
        None, description="One of input.meta_fields (a date or category) to break topic prevalence down by."
    )
    prevalence_period: Literal["day", "month", "year", "category"] = Field(
        "month", description="How prevalence_field is grouped: a date by day, month or year, or as is."
    )


# The transports Dask distributed connects over (distributed.comm's backends): an address
# is scheme://host:port, or host:port for tcp; inproc addresses name a process, not a port.
DASK_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")
HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def _dask_address(address: str | None) -> str | None:
    if address is None:
        return None
    scheme, sep, where = address.strip().rpartition("://")
    scheme = scheme if sep else "tcp"
    if scheme not in DASK_SCHEMES:
        others = ", ".join(f"{s}://" for s in DASK_SCHEMES[1:-1])
        raise ValueError(
            f"unknown scheme {scheme!r}; a Dask scheduler address is tcp://host:port, "
            f"or {others} or {DASK_SCHEMES[-1]}://"
        )
    if scheme == "inproc":
        if not where:
            raise ValueError("an inproc address names the process: inproc://host/pid/n")
        return address
    m = HOST_PORT.match(where)
    if not m or not 0 < int(m.group(2)) < 65536:
        raise ValueError(f"expected {scheme}://host:port, such as {scheme}://10.0.0.5:8786")
    return address


class ExecutorConfig(Section):
    kind: Literal["local", "dask"] = Field(
        "local", description="local worker processes, or a Dask cluster, for every stage's partitions."
    )
    address: Annotated[str | None, AfterValidator(_dask_address)] = Field(
        None, description="Dask scheduler address (tcp://host:8786); none starts a local cluster."
    )
    workers: Int = Field(
        0,
        ge=0,
        description=(
            "local processes that run every stage's partitions, training included: the run's own "
            "and workers - 1 forked; 0 uses every core."
        ),
    )


class Config(Section):
    run: RunConfig = Field(default_factory=lambda: RunConfig())
    input: InputConfig = Field(default_factory=lambda: InputConfig())
    segment: SegmentConfig = Field(default_factory=lambda: SegmentConfig())
    tokenize: TokenizeConfig = Field(default_factory=lambda: TokenizeConfig())
    dictionary: DictionaryConfig = Field(default_factory=lambda: DictionaryConfig())
    model: ModelConfig = Field(default_factory=lambda: ModelConfig())
    report: ReportConfig = Field(default_factory=lambda: ReportConfig())
    executor: ExecutorConfig = Field(default_factory=lambda: ExecutorConfig())

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str = PrivateAttr(default="<defaults>")

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in this config are resolved against."""
        return self._base_dir

    @property
    def source(self) -> str:
        return self._source

    def resolve(self, path: str) -> Path:
        """A config path made absolute, relative to the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(os.path.normpath(self._base_dir / p))

    @property
    def run_dir(self) -> Path:
        return self.resolve(self.run.output_dir) / self.run.name

    def resolved(self) -> dict[str, Any]:
        """Every setting, with paths made absolute: what the run will actually use."""
        data = self.model_dump(mode="json")
        data["run"]["output_dir"] = str(self.resolve(self.run.output_dir))
        data["input"]["paths"] = [str(self.resolve(p)) for p in self.input.paths]
        for key in ("stopwords", "userdict"):
            data["tokenize"][key] = [str(self.resolve(p)) for p in data["tokenize"][key]]
        return data


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys: {"model": {"passes": 20}} -> {"model.passes": 20}."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


# Settings of earlier versions that executor.workers replaced: old configs (and the
# configs saved in old runs' manifests) still load, with a warning.
RETIRED = ("tokenize.workers", "model.workers", "model.sweep_workers")


def drop_retired(raw: dict[str, Any]) -> list[str]:
    """Remove the retired settings from a raw config; the keys that were there."""
    found = []
    for key in RETIRED:
        section, name = key.split(".")
        if isinstance(raw.get(section), dict) and name in raw[section]:
            del raw[section][name]
            found.append(key)
    return found


# Where a setting is: ("model", "num_topics"), ("segment", "furniture_patterns", 2).
Loc = tuple[int | str, ...]
Problem = tuple[Loc, str]  # a setting and what is wrong with it


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read, override and validate a config: the only place configuration is checked.

    ``overrides`` are ``key.path=value`` strings; values are parsed as YAML scalars.
    Every problem found is reported, one line each, in one ``ConfigError``, naming
    where the bad value came from: the file, or the ``--set`` that gave it.
    """
    raw: dict[str, Any] = {}
    source = "<defaults>"
    base_dir = Path.cwd()
    if path is not None:
        cfg_path = Path(path)
        source = str(path)
        if not cfg_path.is_file():
            raise ConfigError(f"{source}: config file not found (give the path to a YAML file)")
        base_dir = cfg_path.resolve().parent
        raw = _read_yaml(cfg_path, source)
    given: dict[Loc, str] = {}  # the settings --set gave, and the --set that gave each
    for item in overrides:
        loc = _apply_override(raw, item)
        # A value set twice, or inside a mapping set later, comes from the last --set.
        given = {k: v for k, v in given.items() if k[: len(loc)] != loc}
        given[loc] = item
    retired = (
        "no longer a setting and is ignored: executor.workers sets the worker processes "
        "of every stage, training included (remove it)"
    )
    for key in drop_retired(raw):
        log.warning("%s", _where(tuple(key.split(".")), retired, source, given))
    problems: list[Problem] = []
    cause: ValidationError | None = None
    try:
        config: Config | None = Config.model_validate(raw)
    except ValidationError as exc:
        config, cause = None, exc
        problems = _problems(exc, raw)
    # Rules across sections are checked on every section that is valid on its own, so
    # they are reported together with the problems inside other sections.
    problems += _cross_section(
        config.input if config else _section(raw, "input", InputConfig),
        config.model if config else _section(raw, "model", ModelConfig),
        config.report if config else _section(raw, "report", ReportConfig),
    )
    if problems or config is None:
        lines = [_where(loc, what, source, given) for loc, what in problems]
        raise ConfigError("\n".join(dict.fromkeys(lines))) from cause
    config._base_dir = base_dir
    config._source = source
    return config


def _where(loc: Loc, what: str, source: str, given: dict[Loc, str]) -> str:
    """One problem as a line that starts with where the value came from:
    ``--set model.num_topic=5: unknown setting``, ``config.yaml: model.passes: ...``."""
    setting = f"{_dotted(loc)}: " if loc else ""
    # The --set that gave this setting or a mapping around it; else those that gave
    # settings inside it (a rule on a whole section); else the file.
    around = [k for k in given if loc[: len(k)] == k]
    inside = [given[k] for k in given if k[: len(loc)] == loc]
    if around:
        key = max(around, key=len)
        return f"--set {given[key]}: {'' if key == loc else setting}{what}"
    if inside and loc:
        return f"{', '.join(f'--set {item}' for item in inside)}: {setting}{what}"
    return f"{source}: {setting}{what}"


def _section(raw: dict[str, Any], name: str, model: type[S]) -> S | None:
    try:
        return model.model_validate(raw.get(name, {}))
    except ValidationError:
        return None


def _cross_section(
    inp: InputConfig | None, model: ModelConfig | None, report: ReportConfig | None
) -> list[Problem]:
    """Rules that tie settings in different sections together."""
    problems: list[Problem] = []
    if inp is not None:
        # Only input.meta_fields are carried into the units: any other field is empty there.
        named: dict[Loc, str | None] = {("input", "label_field"): inp.label_field}
        if report is not None:
            named["report", "prevalence_field"] = report.prevalence_field
        missing = {key: f for key, f in named.items() if f is not None and f not in inp.meta_fields}
        fixed = ", ".join(dict.fromkeys([*inp.meta_fields, *missing.values()]))
        for key, f in missing.items():
            fix = f"add it to input.meta_fields: [{fixed}]"
            problems.append((key, f"invalid value {f!r} (not one of input.meta_fields; {fix})"))
    return problems


def _read_yaml(path: Path, source: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read config file ({exc})") from exc
    try:
        data = load_unique(text)
    except DuplicateKeys as exc:
        raise ConfigError(
            "\n".join(
                f"{source}:{mark.line + 1}:{mark.column + 1}: {_dotted(loc)}: duplicate key "
                f"(first given at line {first}; keep one of them)"
                for mark, loc, first in exc.found
            )
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "syntax error"
        raise ConfigError(f"{where}: invalid YAML: {problem} (fix the syntax at that line)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping of sections (run:, input:, ...)")
    return data


def _apply_override(raw: dict[str, Any], item: str) -> Loc:
    """Set the value an override gives; where it is."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r}: expected key.path=value, e.g. --set model.num_topics=5")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    parts = key.strip().split(".")
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = parsed
    return tuple(parts)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds: itself, or the members of a union."""
    if get_origin(annotation) is None and isinstance(annotation, type):
        return [annotation] if issubclass(annotation, BaseModel) else []
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _field_names(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The allowed keys at the level of ``loc`` (the parent of the bad key)."""
    current = model
    for part in loc:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        models = _models_in(field.annotation) if field is not None else []
        if len(models) != 1:
            return []
        current = models[0]
    return list(current.model_fields)


def _all_field_names() -> set[str]:
    names: set[str] = set()
    stack: list[type[BaseModel]] = [Config]
    while stack:
        model = stack.pop()
        for name, field in model.model_fields.items():
            names.add(name)
            stack.extend(_models_in(field.annotation))
    return names


def _lookup(raw: Any, loc: tuple[int | str, ...]) -> Any:
    node = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _dotted(loc: tuple[int | str, ...]) -> str:
    """``model.num_topics``, ``segment.furniture_patterns[2]``: a key as a reader writes it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "config"


def _shown(value: Any) -> str:
    """A value as it was written in YAML where Python spells it differently."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return repr(value)


def _problems(exc: ValidationError, raw: dict[str, Any]) -> list[Problem]:
    """Every problem: unknown keys first, as a misspelt key explains the rest."""
    names = _all_field_names()

    def real(loc: Loc) -> Loc:
        # Unions add the member tried to the location (e.g. '<range>'); keep only real keys.
        return tuple(p for p in loc if isinstance(p, int) or p in names)

    unknown: list[Problem] = []
    suggested: set[Loc] = set()
    others: list[tuple[Loc, ErrorDetails]] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] != "extra_forbidden":
            others.append((real(loc), err))
            continue
        parent = real(loc[:-1])
        allowed = _field_names(Config, parent)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        if close:
            suggested.add((*parent, close[0]))
        hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
        unknown.append(((*parent, loc[-1]), f"unknown setting ({hint})"))
    problems = list(unknown)
    for loc, err in others:
        if err["type"] == "missing" and loc in suggested:
            continue  # the misspelt key already says which one is meant
        problems.append((loc, _describe(err, loc, raw)))
    return problems


def _describe(err: ErrorDetails, loc: Loc, raw: dict[str, Any]) -> str:
    """What is wrong with one setting: the value, and what is allowed."""
    value = _lookup(raw, loc)
    msg = err["msg"]
    if err["type"] == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", ""))
        msg = f"allowed: {expected}"
        if NAME in err["loc"]:  # the names of a setting that also takes a number
            msg = f"allowed: {expected.replace(' or ', ', ')} or a number above 0"
    elif err["type"] == "bool_type":
        msg = "allowed: true or false"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if value is None and err["type"] == "missing":
        return "required setting is missing"
    return f"invalid value {_shown(value)} ({msg})"

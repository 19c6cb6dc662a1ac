"""The configuration schema, and the one place a config file is read and checked.

Each section is a pydantic model that rejects unknown keys; every field carries a
default and a one-line description, and ``configs/default.yaml`` mirrors them (a
test keeps the two equal). Stages receive a validated ``Config`` and trust it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RunConfig(Section):
    name: str = Field(
        "seeds",
        min_length=1,
        pattern=r"^[\w.-]+$",
        description="Run name: outputs go to <output_dir>/<name>/.",
    )
    seed: int = Field(42, ge=0, description="Random seed for training and inference.")
    output_dir: str = Field("../runs", description="Folder that holds the run folders.")


class InputConfig(Section):
    paths: list[str] = Field(["../seeds"], min_length=1, description="Input files, folders or glob patterns.")
    format: Literal["auto", "txt", "csv", "jsonl"] = Field(
        "auto", description="Input format; auto picks by file extension."
    )
    text_field: str = Field("text", description="Column or key holding the text (csv, jsonl).")
    id_field: str | None = Field(None, description="Column or key holding a document id (csv, jsonl).")
    meta_fields: list[str] = Field([], description="Columns or keys carried into every output row.")
    encoding: str = Field("auto", description="Text encoding, or auto to detect it per file.")
    label_field: str | None = Field(
        None, description="A meta field with known labels: topics are scored against it (NMI, ARI, purity)."
    )


class SegmentConfig(Section):
    min_chars: int = Field(30, ge=1, description="Units shorter than this are merged with a neighbour.")
    max_chars: int = Field(600, ge=20, description="Units longer than this are split at sentence ends.")
    heading_max_chars: int = Field(
        40, ge=1, description="A line this short without sentence-final punctuation is a heading."
    )
    furniture: bool = Field(True, description="Drop web-page furniture lines with the built-in patterns.")
    furniture_patterns: list[str] = Field(
        [], description="Extra regular expressions: matching lines are dropped as furniture."
    )
    to_simplified: bool = Field(
        False, description="Convert traditional to simplified characters for analysis (OpenCC t2s)."
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> SegmentConfig:
        if self.min_chars >= self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) must be below max_chars ({self.max_chars})")
        return self


class TokenizeConfig(Section):
    engine: Literal["jieba", "rjieba"] = Field(
        "jieba", description="Word segmenter: jieba, or rjieba (jieba-rs, faster, same dictionaries)."
    )
    stopwords: list[str] = Field(
        [], description="Stopword files (one word a line) added to the built-in list."
    )
    keep_words: list[str] = Field([], description="Words removed from the stopword list.")
    builtin_stopwords: bool = Field(True, description="Use the built-in stopword list.")
    userdict: list[str] = Field([], description="jieba user dictionaries: 'word [freq] [pos]' a line.")
    builtin_userdict: bool = Field(True, description="Use the built-in domain dictionary.")
    hmm: bool = Field(True, description="Let jieba's HMM join unknown words.")
    min_len: int = Field(2, ge=1, description="Drop tokens shorter than this many characters.")
    drop_numbers: bool = Field(True, description="Drop tokens that are numbers (Arabic or Chinese numerals).")
    drop_latin: bool = Field(True, description="Drop tokens made only of Latin letters and digits.")
    pos: list[str] = Field(
        [], description="Part-of-speech tags to keep (jieba.posseg, e.g. [n, v]); empty keeps all."
    )
    phrases: bool = Field(False, description="Join frequent collocations with gensim Phrases (npmi).")
    phrases_threshold: float = Field(0.5, gt=-1, le=1, description="NPMI score a collocation needs.")
    phrases_min_count: int = Field(5, ge=1, description="Occurrences a collocation needs.")
    workers: int = Field(0, ge=0, description="Worker processes for jieba; 0 uses every core.")


class DictionaryConfig(Section):
    no_below: int = Field(5, ge=1, description="Drop terms in fewer than this many units.")
    no_above: float = Field(0.5, gt=0, le=1, description="Drop terms in more than this share of units.")
    keep_n: int = Field(100000, ge=1, description="Keep at most this many most frequent terms.")


class KRange(Section):
    min: int = Field(..., ge=2, description="Smallest number of topics.")
    max: int = Field(..., ge=2, description="Largest number of topics.")
    step: int = Field(1, ge=1, description="Step between numbers of topics.")

    @model_validator(mode="after")
    def _ordered(self) -> KRange:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must not be below min ({self.min})")
        return self


class ModelConfig(Section):
    engine: Literal["gensim", "tomotopy"] = Field(
        "gensim", description="gensim (variational Bayes) or tomotopy (collapsed Gibbs sampling)."
    )
    num_topics: int | list[int] | KRange = Field(
        8, description="Number of topics K: a number, a list, or {min, max, step} to sweep."
    )
    seeds: int = Field(1, ge=1, description="Models trained per K with seeds run.seed, run.seed+1, ...")
    passes: int = Field(20, ge=1, description="gensim: passes over the corpus during training.")
    iterations: int = Field(
        400, ge=1, description="gensim: inference iterations per unit; tomotopy: sampling iterations."
    )
    alpha: Literal["symmetric", "asymmetric", "auto"] | float = Field(
        "auto", description="Document-topic prior (alpha): symmetric, asymmetric, auto or a number."
    )
    eta: Literal["symmetric", "auto"] | float = Field(
        "symmetric", description="Topic-word prior (eta, beta): symmetric, auto or a number."
    )
    chunksize: int = Field(2000, ge=1, description="gensim: units per training chunk.")
    init: Literal["nmf", "random"] = Field(
        "nmf",
        description="gensim: starting topics: nmf (a seeded factorisation of the tf-idf units) or random.",
    )
    update_every: int = Field(
        0,
        ge=0,
        description="gensim: 0 is batch learning (full EM, an update a pass); N: online, every N chunks.",
    )
    workers: int = Field(
        1, ge=1, description="gensim: training processes; above 1 uses LdaMulticore (not byte-reproducible)."
    )
    sweep_workers: int = Field(
        0, ge=0, description="Processes training sweep models at once; 0 uses every core."
    )
    heldout: float = Field(0.1, gt=0, lt=1, description="Share of units held out for perplexity in a sweep.")
    seed_words: list[list[str]] = Field(
        [], description="Word lists that anchor topics 0, 1, ... through the eta prior."
    )
    seed_strength: float = Field(
        1.0, gt=0, description="Prior weight of a seed word in its topic, in average term counts."
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
    top_terms: int = Field(10, ge=1, description="Terms listed per topic.")
    representatives: int = Field(3, ge=0, description="Representative passages listed per topic.")
    one_per_document: bool = Field(False, description="At most one representative passage per document.")
    excerpt_chars: int = Field(160, ge=20, description="Characters of a passage quoted in the report.")
    relevance_lambda: float = Field(
        0.6, ge=0, le=1, description="lambda of the LDAvis relevance ranking (1 = by probability)."
    )
    export: list[Literal["parquet", "xlsx"]] = Field(
        [], description="Extra formats: parquet (assignments.parquet), xlsx (results.xlsx workbook)."
    )
    prevalence_field: str | None = Field(
        None, description="A meta field (date or category) to break topic prevalence down by."
    )
    prevalence_period: Literal["day", "month", "year", "category"] = Field(
        "month", description="How prevalence_field is grouped: a date by day, month or year, or as is."
    )


class ExecutorConfig(Section):
    kind: Literal["local", "dask"] = Field(
        "local", description="local processes, or a Dask cluster for the segment, tokenize and assign stages."
    )
    address: str | None = Field(
        None, description="Dask scheduler address (tcp://host:8786); none starts a local cluster."
    )
    workers: int = Field(
        0,
        ge=0,
        description="local processes for the segment and assign partitions; 0 uses every core.",
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


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read, override and validate a config: the only place configuration is checked.

    ``overrides`` are ``key.path=value`` strings; values are parsed as YAML scalars.
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
    for item in overrides:
        _apply_override(raw, item)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc, raw)}") from exc
    config._base_dir = base_dir
    config._source = source
    return config


def _read_yaml(path: Path, source: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read config file ({exc})") from exc
    try:
        data = yaml.safe_load(text)
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


def _apply_override(raw: dict[str, Any], item: str) -> None:
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


def _field_names(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The allowed keys at the level of ``loc`` (the parent of the bad key)."""
    current: Any = model
    for part in loc:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        if (
            field is None
            or not isinstance(field.annotation, type)
            or not issubclass(field.annotation, BaseModel)
        ):
            return []
        current = field.annotation
    return list(current.model_fields)


def _lookup(raw: Any, loc: tuple[int | str, ...]) -> Any:
    node = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _describe(exc: ValidationError, raw: dict[str, Any]) -> str:
    """One line for the first problem: the key, the value, and what is allowed."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _field_names(Config, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
        return f"{'.'.join(map(str, loc))}: unknown setting ({hint})"
    # Unions add the member type tried to the location (e.g. 'float'); keep only real keys.
    names = _all_field_names()
    loc = tuple(p for p in loc if isinstance(p, int) or p in names)
    dotted = ".".join(map(str, loc)) if loc else "config"
    value = _lookup(raw, loc)
    msg = err["msg"]
    if err["type"] == "literal_error" or "literal" in err["type"]:
        msg = msg.replace("Input should be", "allowed:")
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if value is None and err["type"] == "missing":
        return f"{dotted}: required setting is missing"
    return f"{dotted}: invalid value {value!r} ({msg})"


def _all_field_names() -> set[str]:
    names: set[str] = set()
    stack: list[type[BaseModel]] = [Config]
    while stack:
        model = stack.pop()
        for name, field in model.model_fields.items():
            names.add(name)
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                stack.append(ann)
    return names

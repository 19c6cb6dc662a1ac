"""The pipeline, in order. Each stage reads what earlier ones wrote to the run folder."""

from pipeline.stages import assign, dictionary, report, segment, tokenize, train
from pipeline.stages.base import Counts, Progress, Stage

STAGES: list[Stage] = [
    segment.STAGE,  # input files   -> units.jsonl (paragraph units with provenance)
    tokenize.STAGE,  # units.jsonl   -> tokens.jsonl (jieba, stopwords, filters)
    dictionary.STAGE,  # tokens.jsonl  -> gensim Dictionary, vocab.tsv, bag-of-words corpus
    train.STAGE,  # corpus        -> LDA model (seeded)
    assign.STAGE,  # model, corpus -> assignments.csv, documents.csv
    report.STAGE,  # everything    -> topics.csv, topics.json, report.md
]

STAGE_NAMES = [s.name for s in STAGES]

__all__ = ["STAGES", "STAGE_NAMES", "Counts", "Progress", "Stage"]

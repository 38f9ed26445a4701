"""Precision and recall of the needs-answer detector on a labelled sample (TSV: label, lang, text).

Used by ``tests/detect/test_sample.py`` (a regression floor) and ``bench/needs_answer_eval.py``
(the figures and the misclassified rows). "Positive" means "needs an answer".
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flows.detect.needs_answer import Verdict, needs_answer


@dataclass(frozen=True)
class Labelled:
    needs_answer: bool
    language: str
    text: str


@dataclass
class Scores:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0
    misclassified: list[tuple[Labelled, Verdict]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        flagged = self.true_positive + self.false_positive
        return self.true_positive / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0


def load_sample(path: str | Path) -> list[Labelled]:
    """The rows of a ``label<TAB>lang<TAB>text`` file with a header line; label is 1 or 0."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Labelled(row["label"] == "1", row["lang"], row["text"]) for row in reader]


def score(sample: list[Labelled], detector: Callable[[str], Verdict] = needs_answer) -> Scores:
    scores = Scores()
    for row in sample:
        verdict = detector(row.text)
        if verdict.needs_answer and row.needs_answer:
            scores.true_positive += 1
        elif verdict.needs_answer:
            scores.false_positive += 1
        elif row.needs_answer:
            scores.false_negative += 1
        else:
            scores.true_negative += 1
        if verdict.needs_answer != row.needs_answer:
            scores.misclassified.append((row, verdict))
    return scores

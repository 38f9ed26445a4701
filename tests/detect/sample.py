"""The labelled sample of posts for the personal-data detector, and how it is scored.

``personal_data_sample.tsv``: ``id, lang, kinds, text``; ``kinds`` is a comma-separated set
of :data:`flows.detect.personal_data.KINDS` or ``none``. Every row was written for this
sample (no real person's data); look-alikes (dates, prices, decree and reference numbers,
hotline short codes, IBANs, tracking numbers) are labelled ``none``. Rows ``l…`` carry the
sample agency's own published contacts, :data:`PUBLIC_CONTACTS`, which are allow-listed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from flows.detect.personal_data import allow_list, kinds_in

SAMPLE = Path(__file__).with_name("personal_data_sample.tsv")
PUBLIC_CONTACTS = ("+968 2460 0000", "info@health.example.om", "Way 3021, Al Khuwair")


@dataclass(frozen=True)
class Row:
    id: str
    lang: str
    expected: frozenset[str]
    text: str


def load_sample(path: Path = SAMPLE) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Row(r["id"], r["lang"], frozenset() if r["kinds"] == "none" else frozenset(r["kinds"].split(",")),
                    r["text"]) for r in reader]


@dataclass
class Score:
    """Micro-averaged over (post, kind) pairs: a kind found in a post that has it is a true positive."""

    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    wrong: list[tuple[Row, frozenset[str]]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_pos / (self.true_pos + self.false_pos) if self.true_pos + self.false_pos else 1.0

    @property
    def recall(self) -> float:
        return self.true_pos / (self.true_pos + self.false_neg) if self.true_pos + self.false_neg else 1.0


def score(rows: list[Row]) -> Score:
    allowed = allow_list(PUBLIC_CONTACTS)
    result = Score()
    for row in rows:
        got = frozenset(kinds_in(row.text, allowed))
        result.true_pos += len(got & row.expected)
        result.false_pos += len(got - row.expected)
        result.false_neg += len(row.expected - got)
        if got != row.expected:
            result.wrong.append((row, got))
    return result

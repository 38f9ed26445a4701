"""Precision and recall of the needs-answer rules on the labelled sample, with every miss.

Run: ``python bench/needs_answer_eval.py [sample.tsv]`` (default tests/detect/needs_answer_sample.tsv).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from flows.detect.scoring import load_sample, score

SAMPLE = Path(__file__).parents[1] / "tests" / "detect" / "needs_answer_sample.tsv"


def main(path: Path) -> None:
    sample = load_sample(path)
    scores = score(sample)
    languages = Counter(row.language for row in sample)
    print(f"{len(sample)} messages ({', '.join(f'{n} {lang}' for lang, n in languages.most_common())}), "
          f"{sum(r.needs_answer for r in sample)} need an answer")
    print(f"precision {scores.precision:.3f}  recall {scores.recall:.3f}  "
          f"(TP {scores.true_positive}, FP {scores.false_positive}, FN {scores.false_negative}, TN {scores.true_negative})")
    for row, verdict in scores.misclassified:
        kind = "false positive" if verdict.needs_answer else "false negative"
        print(f"  {kind:14}  [{row.language}] {row.text}  — {verdict.reason}")
    for language in sorted(languages):
        part = score([r for r in sample if r.language == language])
        print(f"  {language:6} precision {part.precision:.3f}  recall {part.recall:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE)

"""Does a citizen's message need an answer? Rules for Arabic (MSA and Gulf) and English.

Contract: ``needs_answer(text, language=None) -> Verdict(needs_answer, reason)`` is pure and
cheap. Questions, requests and complaints need an answer; thanks, greetings, praise, likes
and emoji-only messages do not, nor does a message with no such signal (a statement). Who
wrote it (the account itself, another registered government account) is decided from the
data, not here: see the ``response_clocks`` view.

How: the text is normalised (NFKC, Arabic diacritics and tatweel removed, alef/ya/ta-marbuta
forms unified, Arabic-Indic digits made ASCII, letters repeated 3+ times squeezed, links and
@mentions dropped). Thanks/greeting/praise phrases are found, and a signal wholly inside one
does not count ("كيف حالك؟" greets, "كم انتم رائعين" praises); what follows one starts a
sentence ("السلام عليكم ما هي الشروط" still asks). The signals: a question mark outside them,
an interrogative anywhere (هل، متى، وين …), a request or complaint form (أرجو، ممكن، please,
not working …), or an interrogative at a sentence start (ما، من، when, is, can …).
``language`` only decides which language's lists are tried first (mixed messages are common).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flows.detect import words

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # harakat, Quranic marks, tatweel
_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي",
                        **{chr(0x0660 + n): str(n) for n in range(10)}, **{chr(0x06F0 + n): str(n) for n in range(10)}})
_LINKS = re.compile(r"https?://\S+|www\.\S+|(?<!\w)@[\w.@-]+")
_REPEATS = re.compile(r"(\w)\1{2,}")
_QUESTION_MARK = re.compile("[?؟⁇⸮]")
_WORD = re.compile(r"[^\W_]")
_SENTENCE_START = r"(?:^|[.!?؟،,؛;:\n]|\s-\s)\s*"
_ARABIC = re.compile("[\u0600-\u06ff]")


@dataclass(frozen=True)
class Verdict:
    needs_answer: bool
    reason: str


def normalise(text: str) -> str:
    """Lower-case, unified Arabic letter forms, ASCII digits, no diacritics/tatweel/links."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _DIACRITICS.sub("", text).translate(_FORMS).lower()
    text = _REPEATS.sub(r"\1", _LINKS.sub(" ", text))
    return " ".join(text.split())


class Detector:
    """The rules with their word lists compiled; ``extra`` adds words per language (policy.yaml)."""

    def __init__(self, extra: Mapping[str, Any] | None = None):
        languages = sorted(set(words.QUESTIONS) | set(extra or {}))
        lists = {kind: {lang: list(getattr(words, kind).get(lang, [])) for lang in languages}
                 for kind in ("QUESTIONS", "LEADING_QUESTIONS", "REQUESTS", "NOT")}
        for lang, added in (extra or {}).items():
            lists["QUESTIONS"][lang] += list(_field(added, "questions"))
            lists["REQUESTS"][lang] += list(_field(added, "requests"))
            lists["NOT"][lang] += list(_field(added, "not_", "not"))
        self._not = _phrases(p for lang in languages for p in lists["NOT"][lang])
        self._signals = {lang: [("interrogative", _phrases(lists["QUESTIONS"][lang]), False),
                                ("request or complaint", _phrases(lists["REQUESTS"][lang]), False),
                                ("interrogative", _phrases(lists["LEADING_QUESTIONS"][lang], _SENTENCE_START), True)]
                         for lang in languages}

    def __call__(self, text: str, language: str | None = None) -> Verdict:
        clean = normalise(text)
        if not clean:
            return Verdict(False, "empty")
        if not _WORD.search(clean):
            if _QUESTION_MARK.search(clean):
                return Verdict(True, "a bare question mark")
            return Verdict(False, "emoji or punctuation only")
        spans = [m.span() for m in self._not.finditer(clean)] if self._not else []
        masked = _mask(clean, spans)
        if not _WORD.search(masked):
            return Verdict(False, "thanks or greeting only")
        if _QUESTION_MARK.search(masked):
            return Verdict(True, "question mark")
        for kind, pattern, leading in self._ordered(language, clean):
            phrase = _first_outside(pattern, masked if leading else clean, spans)
            if phrase:
                return Verdict(True, f"{kind} '{phrase}'")
        return Verdict(False, "no question, request or complaint")

    def _ordered(self, language: str | None, clean: str) -> list[tuple[str, re.Pattern | None, bool]]:
        """Signals of the message's language first (given, else guessed from its script)."""
        first = (language or ("ar" if _ARABIC.search(clean) else "en")).split("-")[0].lower()
        order = sorted(self._signals, key=lambda lang: lang != first)
        return [signal for lang in order for signal in self._signals[lang]]


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each thanks/greeting span blanked to a sentence break of the same length
    (offsets stay valid; what follows a greeting starts a sentence)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = "." + " " * (end - start - 1)
    return "".join(chars)


def _first_outside(pattern: re.Pattern | None, text: str, spans: list[tuple[int, int]]) -> str | None:
    """The first phrase ``pattern`` finds that is not wholly inside a thanks/greeting span:
    "كيف" in "كيف حالك" does not ask, "never received" still complains though "received" thanks."""
    for match in pattern.finditer(text) if pattern else ():
        start, end = match.span("phrase")
        if not any(s <= start and end <= e for s, e in spans):
            return match.group("phrase")
    return None


def _field(lists: Any, *names: str) -> Iterable[str]:
    for name in names:
        value = lists.get(name) if isinstance(lists, Mapping) else getattr(lists, name, None)
        if value:
            return value
    return ()


def _phrases(phrases: Iterable[str], before: str = r"(?<!\w)") -> re.Pattern | None:
    """One pattern matching any phrase on word boundaries, longest first; Arabic phrases also
    after a leading و or ف. The matched phrase is the group ``phrase``."""
    forms = sorted({normalise(p) for p in phrases if normalise(p)}, key=len, reverse=True)
    if not forms:
        return None
    alternation = "|".join(re.escape(f) for f in forms)
    return re.compile(f"{before}(?:[وف](?=\\w))?(?P<phrase>{alternation})(?!\\w)")


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    return Detector()


def needs_answer(text: str, language: str | None = None) -> Verdict:
    """The built-in rules' verdict on one message (see the module docstring)."""
    return default_detector()(text, language)

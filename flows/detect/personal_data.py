"""Recognise personal data in text: phone numbers, e-mail addresses, Omani civil ID and
passport numbers, street addresses. The one detector everything in Custodian reuses.

Contract: :func:`detect` returns :class:`Found` items (kind and character span) and
never the matched text; :func:`kinds_in` returns only the sorted kinds. Nothing here
logs, prints or stores what it reads: callers keep the kinds, never the data.
Digits may be Latin, Arabic-Indic (٠-٩) or Persian (۰-۹); a span indexes the text as given.
An allow-list of the agency's own published contacts (:func:`allow_list`) is exempt.

What counts (precision over recall where a number is ambiguous):
- ``phone``: Omani numbers (``+968``/``00968``/``968`` prefix or none) of 8 digits starting with
  7 or 9 (mobile) or 2 (landline), and international numbers written with ``+`` or ``00``.
  Short codes (9999, 1555), toll-free ``800`` numbers, dates, times, prices, decimals,
  numbers inside links or identifiers, and numbers labelled as a reference, tender,
  invoice, case, permit … are not phones.
- ``email``: an address with a dotted domain.
- ``civil_id`` / ``passport``: a number right after a cue ("civil ID", "الرقم المدني",
  "passport no.", "جواز السفر رقم" …); without a cue an ID is indistinguishable from
  a reference number, so it is not reported.
- ``address``: a house, villa, flat or building number, a numbered "Way"/"سكة", or a
  numbered street ("22 Al Noor Street"); a named street alone (road closures) is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("address", "civil_id", "email", "passport", "phone")
LANDLINE_PREFIXES = ("22", "23", "24", "25", "26")
"""Omani fixed lines by region (Muscat 22/24, Dhofar 23, Interior 25, Batinah 26): never a year (19xx, 20xx)."""
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


@dataclass(frozen=True, slots=True)
class Found:
    """One piece of personal data: its kind and where it is (``text[start:end]``)."""

    kind: str
    start: int
    end: int


def latin_digits(text: str) -> str:
    """The same text with Arabic-Indic and Persian digits as Latin ones (same length)."""
    return text.translate(_DIGITS)


_MAY_HOLD_ANY = re.compile(r"[\d@]")
"""Every pattern below needs a digit (phones, IDs, passports, addresses) or an "@" (e-mail): a text
with neither holds none, and most posts' texts are such (profiled: detection was a sixth of a merge)."""

# ---- what is masked before looking for numbers: links, e-mails, identifiers, dates, times, money
_EMAIL = re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_LOOKALIKES = [re.compile(p, re.IGNORECASE) for p in (
    r"https?://\S+|www\.\S+",
    r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,4})?\b",          # IBAN
    r"\b(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])(?:[-/.]\d+)?\b",  # dates, ISO
    r"\b(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)\d{2}\b",               # dates, 24.11.2026
    r"\b(?:19|20)\d{2}\s?[-–/]\s?(?:19|20)\d{2}\b",                            # 2026-2027
    r"\b\d{1,2}:\d{2}(?:\s*[-–]\s*\d{1,2}:\d{2})?\b",                        # times
    r"\b\d+/\d+\b",                                                          # decree 45/2023, case 2026/00451
    r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b",                                    # 3,456,789
    r"(?:OMR|RO|USD|\$|ر\.ع\.?)\s*[\d.,  ]+\d|[\d.,  ]*\d\s*(?:OMR|RO|USD|baisa|ريال|بيسة|ر\.ع)",
)]
_NOT_A_PHONE_CUE = re.compile(
    r"(?:ref(?:erence)?|tender|invoice|receipt|case|order|tracking|track|parcel|permit|serial|isbn|"
    r"application|transaction|licen[cs]e|account|flight|"
    r"المرجع|المعاملة|المناقصة|الفاتورة|الإيصال|القضية|الطلب|الشحنة|التصريح|تصريح|الرخصة|الترخيص|القيد|السجل|الحساب|الرحلة|التعميم|circular|"
    r"hotline|help\s?line|call\s?cent(?:re|er)|toll[\s-]?free|الخط\s*الساخن|مركز\s*الاتصال|الرقم\s*المجاني)"
    r"\W{0,3}(?:no\.?|number|#|رقم)?\W{0,3}$", re.IGNORECASE)
_PHONE_RUN = re.compile(r"(?<![\w/@#.,-])(?:\(?(?:\+|00)\s?\d{1,3}\)?[\s.-]?)?\d(?:(?:\s?[.-]\s?|\s)?\d)+(?![\w/@])")

# ---- identifiers announced by a cue
_CIVIL_CUE = (r"(?:civil\s*(?:id|no\.?|number)|id\s*card\s*(?:no\.?|number)|resident\s*card\s*(?:no\.?|number)?|"
              r"الرقم\s*المدني|(?:رقم\s*)?(?:ال)?بطاقة\s*(?:ال)?مدنية|رقم\s*الهوية)")
_CIVIL = re.compile(_CIVIL_CUE + r"(?:\s+[^\d\s]{2,12})?(?:\s*رقم)?[\s:.#-]{0,4}(\d(?:\s?\d){5,9})(?!\d)", re.IGNORECASE)
_PASSPORT = re.compile(r"(?:passport|جواز(?:\s*(?:ال)?سفر\w*)?|الجواز)\W{0,4}(?:\((?:no|number)\W{0,3})?"
                       r"(?:no\.?|number|رقم)?(?:\s+is)?[\s:.#]{0,4}([A-Z]{0,2}\d{6,9})\b", re.IGNORECASE)

# ---- addresses: numbered dwellings, numbered ways, numbered streets
_ADDRESS = [re.compile(p, re.IGNORECASE) for p in (
    r"\b(?:house|villa|flat|apartment|apt\.?)\s*(?:no\.?|number|#)?\s*\d+[A-Z]?\b",
    r"\bway\s+\d{3,4}\b",
    r"\b\d{1,4}\s+(?:[A-Z][\w'-]*\s+){1,3}(?:street|st\.|road|rd\.|avenue|ave\.)",
    r"\bbuilding\s*(?:no\.?)?\s*\d+\s*,?\s*(?:\d+(?:th|st|nd|rd)\s+\w+\s+)?(?:street|way)\b",
    r"(?:منزل|فيلا|الشقة|شقة|المنزل)\s*(?:رقم)?\s*\d+",
    r"سكة\s*(?:رقم)?\s*\d{3,4}",
    r"مبنى\s*(?:رقم)?\s*\d+\s*(?:سكة|شارع)",
)]


def detect(text: str, allowed: frozenset[str] = frozenset()) -> list[Found]:
    """Every piece of personal data in ``text`` not on the ``allowed`` list, in text order."""
    if not text:
        return []
    latin = latin_digits(text)
    if not _MAY_HOLD_ANY.search(latin):
        return []
    found = [Found("email", m.start(), m.end()) for m in _EMAIL.finditer(latin)]
    found += [Found("civil_id", m.start(1), m.end(1)) for m in _CIVIL.finditer(latin)]
    found += [Found("passport", m.start(1), m.end(1)) for m in _PASSPORT.finditer(latin)]
    found += [Found("address", m.start(), m.end()) for pattern in _ADDRESS for m in pattern.finditer(latin)]
    taken = [(f.start, f.end) for f in found]
    found += [f for f in _phones(latin) if not any(s <= f.start < e or s < f.end <= e for s, e in taken)]
    return sorted((f for f in found if normalise(latin[f.start:f.end]) not in allowed and
                   not _allowed_address(f, latin, allowed)), key=lambda f: (f.start, f.kind))


def kinds_in(text: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """The sorted kinds of personal data in ``text`` (``[]`` when none): what callers store."""
    return sorted({f.kind for f in detect(text, allowed)})


def normalise(value: str) -> str:
    """One form for a contact so the published one matches however it is written: an e-mail
    lower-cased; a phone as its digits without the Omani prefix; anything else folded."""
    value = latin_digits(value).strip()
    if "@" in value:
        return value.lower()
    digits = re.sub(r"\D", "", value)
    if digits and not re.search(r"[^\d\s()+.-]", value):
        for prefix in ("00968", "968"):
            if digits.startswith(prefix) and len(digits) == len(prefix) + 8:
                return digits[len(prefix):]
        return digits.removeprefix("00")
    return re.sub(r"[\s,.]+", " ", value.casefold()).strip()


def allow_list(contacts: Iterable[str]) -> frozenset[str]:
    """The agency's published contacts, normalised as :func:`detect` compares them."""
    return frozenset(normalise(c) for c in contacts if c and c.strip())


def _allowed_address(found: Found, latin: str, allowed: frozenset[str]) -> bool:
    """A published address is written in many ways; its numbered part inside one is enough."""
    if found.kind != "address":
        return False
    part = normalise(latin[found.start:found.end])
    return any(part in contact for contact in allowed)


def _phones(latin: str) -> list[Found]:
    masked = _mask(latin)
    phones = []
    for match in _PHONE_RUN.finditer(masked):
        if _NOT_A_PHONE_CUE.search(masked[max(0, match.start() - 30):match.start()]):
            continue
        phones += [Found("phone", match.start() + s, match.start() + e) for s, e in _split_run(match.group())]
    return phones


def _mask(latin: str) -> str:
    """Look-alikes (links, e-mails, IBANs, dates, times, money, x/y numbers) blanked, same length."""
    for pattern in (_EMAIL, *_LOOKALIKES):
        latin = pattern.sub(lambda m: "_" * len(m.group()), latin)
    return latin


def _split_run(run: str) -> list[tuple[int, int]]:
    """The phone numbers in one run of digits and separators, as spans within the run.

    A run is tried whole first (``+968 9123 4567``), then as consecutive groups, so two
    numbers written side by side are both found; a long run that is not made of phone
    numbers (a tracking number) yields nothing."""
    if _is_phone(run):
        return [(0, len(run))]
    groups = [(m.start(), m.end()) for m in re.finditer(r"\(?\+?\d+\)?", run)]
    spans, i = [], 0
    while i < len(groups):
        for j in range(len(groups), i, -1):
            start, end = groups[i][0], groups[j - 1][1]
            if _is_phone(run[start:end]):
                spans.append((start, end))
                i = j
                break
        else:
            return []  # a group no phone explains: an identifier, not a list of numbers
    return spans


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    international = candidate.lstrip("(").startswith("+") or digits.startswith("00")
    digits = digits.removeprefix("00")
    if digits.startswith("968") and len(digits) == 11:
        return digits[3] in "79" or digits[3:5] in LANDLINE_PREFIXES
    if international:
        return 8 <= len(digits) <= 15 and digits[0] != "0" and not digits.startswith("968")
    return len(digits) == 8 and (digits[0] in "79" or digits[:2] in LANDLINE_PREFIXES)

"""The PHI guard: every outgoing reply passes it before it can be sent.

It blocks a reply that repeats health details or identifiers from the comment it answers, contains
identifier patterns (record numbers, dates of birth, insurance or member ids, phone numbers other than the
account's own lines), or confirms that someone is a patient. Each block comes with a reason a moderator
can act on. Sources: HHS OCR enforcement (replies to reviews that disclosed PHI), AMA Opinion 2.3.2.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

_I = re.IGNORECASE

# Health details: conditions, treatments, services, medicines (English and Spanish), matched as words.
HEALTH_TERMS = (
    r"cancer|c[aá]ncer|tumou?r|chemo(?:therapy)?|quimio(?:terapia)?|radiation|radioterapia|diabet\w*|"
    r"hiv|vih|aids|sida|hepatitis|pregnan\w*|embaraz\w*|miscarriage|aborto|abortion|surgery|cirug[ií]a|"
    r"operation|operaci[oó]n|biopsy|biopsia|diagnos\w*|diagn[oó]stico|depression|depresi[oó]n|anxiety|"
    r"ansiedad|bipolar|schizophren\w*|overdose|sobredosis|addiction|adicci[oó]n|rehab|dialysis|di[aá]lisis|"
    r"stroke|derrame|heart attack|infarto|covid|std|sti|herpes|asthma|asma|fracture|fractura|"
    r"transplant|trasplante|insulin|insulina|opioid\w*|oxycodone|methadone|metadona|antidepressant\w*|"
    r"mastectomy|mastectom[ií]a|icu|uci|er visit|emergency room|maternity|labor and delivery|oncology|"
    r"oncolog[ií]a|psychiatr\w*|psiquiatr\w*|prescription|receta|medication|medicamento|x-ray|mri|"
    r"ct scan|colonoscopy|colonoscop[ií]a|mammogram|mamograf[ií]a"
)
_HEALTH = re.compile(rf"\b(?:{HEALTH_TERMS})\b", _I)

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "contains a medical record or patient number",
        re.compile(
            r"\b(?:mrn|medical record|record (?:no|number|#)|chart (?:no|number|#)|patient (?:id|number|#)|"
            r"expediente|n[uú]mero de (?:expediente|paciente))\b",
            _I,
        ),
    ),
    (
        "contains a date of birth",
        re.compile(
            r"\b(?:dob|d\.o\.b|date of birth|birth ?date|born on|fecha de nacimiento|nacid[oa] el)\b"
            r"|\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}\b",
            _I,
        ),
    ),
    (
        "contains an insurance, member or account number",
        re.compile(
            r"\b(?:member|insurance|policy|subscriber|medicaid|medicare|claim|p[oó]liza|seguro)\s*"
            r"(?:id|#|number|no\.?|n[uú]mero)\b",
            _I,
        ),
    ),
    ("contains an email address", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
    (
        "mentions a room or bed",
        re.compile(r"\b(?:room|rm\.?|bed|habitaci[oó]n|cama)\s*#?\s*\d+[a-z]?\b", _I),
    ),
)

_PHONE = re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?![\w-])")

# Phrases that confirm a care relationship: "never confirm or deny that someone is a patient".
_CONFIRMS_PATIENT = re.compile(
    r"\byour (?:recent |last |upcoming )?(?:visit|stay|procedure|surgery|operation|treatment|doctor|"
    r"physician|surgeon|nurse|care team|test results|results|diagnosis|chart|records?|admission|"
    r"discharge|bill|prescription|medication|appointment with us|time with us)\b"
    r"|\bwhen you were (?:here|in|at|admitted|seen|with us)\b"
    r"|\bduring your (?:stay|visit|time)\b"
    r"|\b(?:thank you|thanks) for choosing us\b"
    r"|\bas (?:a|our) patient\b"
    r"|\byou were (?:seen|treated|admitted|discharged|our patient)\b"
    r"|\bwe (?:treated|saw|admitted|discharged) you\b"
    r"|\bsu (?:visita|estancia|procedimiento|cirug[ií]a|operaci[oó]n|tratamiento|m[eé]dic[oa]|doctor[a]?|"
    r"enfermer[oa]|resultados|diagn[oó]stico|expediente|alta)\b"
    r"|\bcuando (?:estuvo|estaba) (?:aqu[ií]|internad[oa]|con nosotros)\b"
    r"|\bdurante su (?:estancia|visita)\b"
    r"|\bgracias por elegirnos\b"
    r"|\bcomo (?:nuestr[oa]|un[a]?) paciente\b",
    _I,
)

# Always allowed numbers: emergency and crisis lines.
CRISIS_NUMBERS = frozenset({"911", "988", "741741", "18002738255"})
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b")
_DIGITS = re.compile(r"\d[\d\s./-]{2,}\d")


@dataclass(frozen=True)
class GuardResult:
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


def _name_pairs(text: str) -> set[str]:
    """Pairs of adjacent capitalised words (likely a person's name): "Tom Reyes" out of "Ask Tom Reyes"."""
    pairs: set[str] = set()
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        pairs.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return pairs


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def check_reply(
    reply: str, comment: str | None = None, allowed_numbers: list[str] | tuple[str, ...] = ()
) -> GuardResult:
    """Every reason the reply may not be sent; an empty list means it may."""
    reasons: list[str] = []
    comment = comment or ""
    allowed = {_digits(n) for n in allowed_numbers} | CRISIS_NUMBERS
    allowed |= {d[1:] for d in allowed if len(d) == 11 and d.startswith("1")}

    repeated = sorted(
        {m.group(0).lower() for m in _HEALTH.finditer(reply)}
        & {m.group(0).lower() for m in _HEALTH.finditer(comment)}
    )
    if repeated:
        reasons.append(f"repeats health details from the comment: {', '.join(repeated)}")
    names = sorted(name for name in _name_pairs(comment) if re.search(rf"\b{re.escape(name)}\b", reply, _I))
    if names:
        reasons.append(f"repeats a name from the comment: {', '.join(names)}")
    comment_numbers = {_digits(m.group(0)) for m in _DIGITS.finditer(comment)}
    echoed = sorted(
        {
            m.group(0)
            for m in _DIGITS.finditer(reply)
            if _digits(m.group(0)) in comment_numbers and _digits(m.group(0)) not in allowed
        }
    )
    if echoed:
        reasons.append(f"repeats a number from the comment: {', '.join(echoed)}")
    for reason, pattern in _PATTERNS:
        if pattern.search(reply):
            reasons.append(reason)
    phones = [m.group(0) for m in _PHONE.finditer(reply) if _digits(m.group(0)) not in allowed]
    if phones:
        reasons.append(f"contains a phone number that is not one of the account's lines: {', '.join(phones)}")
    confirms = sorted({m.group(0).lower() for m in _CONFIRMS_PATIENT.finditer(reply)})
    if confirms:
        reasons.append(f"confirms a care relationship: {', '.join(confirms)}")
    return GuardResult(reasons)

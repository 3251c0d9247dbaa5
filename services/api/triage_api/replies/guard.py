"""The PHI guard: every outgoing reply passes it before it can be sent.

It blocks a reply that repeats health details, names or numbers from the comment it answers; ties a health
condition to the reader or someone close ("your lupus", "she is pregnant"); contains identifiers
(record, insurance or member numbers, e-mail addresses, dates of birth, other dates, rooms and beds, phone
numbers and any other number of six digits or more that is not one of the account's own); names a member
of staff ("Nurse Lopez"); or confirms that someone is or was a patient ("we treated her", "your lab
results", "fue nuestra paciente"). Each block comes with a reason a moderator can act on. Sources: HHS OCR
enforcement (replies to reviews that disclosed PHI), AMA Opinion 2.3.2, shared/GUIDELINES.md rule 1.

Checks run on normalised text (`normalise.py`: NFKC, no zero-width characters, Latin look-alikes mapped to
Latin, no accents; spelled-out digits as digits for the number checks), so a zero-width space, a Cyrillic
letter or a non-breaking hyphen does not hide anything. Health details come from the lexicon
(`phi_lexicon.yaml`, matched on word stems in English and Spanish). `check` returns findings with the span
of the original text they point at, for the desk and a future draft check; `check_reply` keeps the older
interface (a list of reasons).

A condition tied to the reader is blocked even when the comment did not mention it: "your lupus" tells
everyone the organisation knows the reader has lupus, which confirms a care relationship.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from triage_api.replies.accounts import AccountSettings
from triage_api.replies.lexicon import Token, default_lexicon, tokens
from triage_api.replies.normalise import Normalised, normalise, spell_digits

_I = re.IGNORECASE


def _abbr(letters: str) -> str:
    """An abbreviation written with or without dots and spaces: m.r.n., M R N, MRN."""
    return r"\.?\s?".join(letters) + r"\.?"


_MONTHS = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre)"
)
_YEAR = r"(?:19|20)\d{2}"
_DATE = (
    rf"\b(?:19|20)\d{{2}}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b"  # ISO 1975-03-14
    rf"|\b\d{{1,2}}[-/.]\d{{1,2}}[-/.](?:\d{{4}}|\d{{2}})\b"  # 03/14/1975, 14.3.75
    rf"|\b{_MONTHS}\.? \d{{1,2}}(?:st|nd|rd|th)?,? (?:of |de )?{_YEAR}\b"  # March 14th, 1975
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?(?: of| de)? {_MONTHS}\.?,?(?: de| del| of)? {_YEAR}\b"  # 14 de marzo de 1975
)
_NUMBER_WORDS = (
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|quince|dieci\w+|"
    r"veinte|veinti\w+|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|cien|ciento|"
    r"doscientos|trescientos|cuatrocientos|quinientos)"
)

# Identifier patterns, on the normalised text: (kind, reason, pattern).
_PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (
        "record_number",
        "contains a medical record or patient number",
        re.compile(
            rf"(?<![a-z])(?:{_abbr('mrn')}|med\.?\s?rec(?:ord)?s?\.?|medical records? (?:no|number|#|id)|"
            rf"record (?:no|number|#)|chart (?:no|number|#)|patient (?:id|number|#|no)\b|"
            rf"account (?:no|number|#)|acct\.?\s?(?:no|#)|case (?:no|number|#)|{_abbr('ssn')}|social security|"
            rf"expediente|historia clinica|historial medico|"
            rf"numero de (?:expediente|paciente|historia|seguro social|cuenta)|{_abbr('nss')})(?![a-z])",
            _I,
        ),
    ),
    (
        "date_of_birth",
        "contains a date of birth",
        re.compile(
            rf"(?<![a-z])(?:{_abbr('dob')}|date of birth|birth ?date|fecha de nacimiento)(?![a-z])"
            rf"|\b(?:born|nacid[oa]s?|naci|nacio)\b[^.!?\n]{{0,25}}?(?:\b{_YEAR}\b|\b{_MONTHS}\b|\d{{1,2}}[-/.]\d)",
            _I,
        ),
    ),
    ("date", "contains a date (of birth or of care)", re.compile(_DATE, _I)),
    (
        "insurance",
        "contains an insurance, member or account number",
        re.compile(
            r"\b(?:member|insurance|policy|subscriber|medicaid|medicare|claim|group|poliza|seguro|afiliado)"
            r"\s*(?:id|#|number|no\.?|numero|card)(?![a-z])|\bnumero de (?:poliza|afiliado|seguro)\b",
            _I,
        ),
    ),
    ("email", "contains an email address", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
    (
        "room",
        "mentions a room or bed",
        re.compile(
            rf"\b(?:room|rm|bed|bay|ward|suite|habitacion|cuarto|cama|sala)\.?\s*"
            rf"(?:#|no\.|number|numero|num\.?|n\.o)?\s*(?:\d+[a-z]?\b|{_NUMBER_WORDS}(?:[\s-]+{_NUMBER_WORDS})*\b)",
            _I,
        ),
    ),
)

# Phrases that confirm a care relationship: "never confirm or deny that someone is a patient". Up to two
# words may come between "your" and the noun ("your recent lab results"), but not words that start
# another phrase ("your questions and our nurse line").
_GAP = (
    r"(?:(?!(?:our|and|or|to|for|with|about|at|in|on|from|if|is|are|we|you|"
    r"y|o|a|de|con|para|por|en|que|nuestr[oa]s?)\b)[a-z]+(?:'s)? )"
)
_CARE_NOUNS_EN = (
    r"visit|stay|procedure|surgery|operation|treatment|doctor|physician|surgeon|nurse|care team|"
    r"test results|results|labs?|lab work|bloodwork|blood work|scans?|diagnosis|prognosis|chart|records?|file|"
    r"admission|discharge|hospitali[sz]ation|hospital stay|bill|prescriptions?|medications?|meds|"
    r"appointment with us|time with us|therapist|provider|care plan|referral|follow-up|ward|bedside|"
    r"appointment (?:on|with|last|yesterday|today|tomorrow|this|next|at)|recovery|condition|illness|injury"
)
_CARE_NOUNS_ES = (
    r"visita|estancia|estadia|procedimiento|cirugia|operacion|tratamiento|medic[oa]|doctor[a]?|enfermer[oa]|"
    r"resultados|analisis|estudios|examenes|diagnostico|pronostico|expediente|historia clinica|historial|"
    r"alta|ingreso|internacion|hospitalizacion|receta|medicamentos?|medicacion|terapeuta|factura|"
    r"recuperacion|enfermedad|lesion|"
    r"cita (?:del|de ayer|de hoy|de manana|con nosotros|anterior|pasada|con (?:el|la) (?:dr|dra|doctor))|"
    r"consulta (?:del|de ayer|de hoy|con (?:el|la) (?:dr|dra|doctor))"
)
_PRONOUN_OBJ = r"(?:you|her|him|them|your|his|their)"
# "We can't confirm whether anyone is a patient here" says nothing about anyone.
_NOT_ABOUT_ANYONE = (
    r"(?<!anyone )(?<!someone )(?<!whether )(?<!anybody )(?<!somebody )(?<!alguien )(?<!nadie )(?<!quien )"
)
_CONFIRMS_PATIENT = re.compile(
    rf"\b(?:your|her|his) {_GAP}{{0,2}}(?:{_CARE_NOUNS_EN})\b"
    r"|\b(?:when|while) (?:you|she|he|they) (?:were|was) "
    r"(?:here|in|at|admitted|seen|with us|hospitali[sz]ed|treated)\b"
    r"|\bduring your (?:stay|visit|time|admission|treatment)\b"
    r"|\b(?:thank you|thanks) for (?:choosing us|coming in|visiting us|trusting us with)\b"
    r"|\b(?:you|she|he|they) (?:were|was|are|is|'re|'s) (?:here|in our|at our|"
    r"in the (?:er|icu|hospital|emergency room|ed|clinic|ward))\b"
    r"|\bas (?:a|our) patient\b"
    rf"|{_NOT_ABOUT_ANYONE}\b(?:was|were|is|are|been|being) (?:one of )?our patients?\b"
    rf"|{_NOT_ABOUT_ANYONE}\b(?:was|were|is|are|been) a patient (?:here|of ours|with us|at (?:our|this))\b"
    r"|\bpatients? of ours\b"
    r"|\b(?:you|she|he|they|we) (?:were|was|are|is|'re|have been|has been|had been|got) "
    r"(?:seen|treated|admitted|discharged|hospitali[sz]ed|diagnosed|operated on|examined|transferred)\b"
    r"|\byou were our patient\b"
    rf"|\bwe(?: have| had|'ve|'d)? (?:treated|admitted|discharged|cared for|operated on|examined|diagnosed|"
    rf"delivered|transferred|tested|stitched up) {_PRONOUN_OBJ}\b"
    r"|\bwe(?: have| had|'ve|'d)? (?:saw|seen) (?:you|her|him|them)\b(?! (?:comment|post|message))"
    rf"|\bwe(?: are|'re| were) (?:treating|caring for|seeing|monitoring) {_PRONOUN_OBJ}\b"
    rf"|\bour (?:team|staff|doctors?|nurses?|surgeons?|clinicians?) (?:treated|saw|cared for|operated on|"
    rf"examined|diagnosed|admitted|discharged) {_PRONOUN_OBJ}\b"
    rf"|\b(?:su|sus|tu|tus) {_GAP}{{0,2}}(?:{_CARE_NOUNS_ES})\b"
    r"|\bcuando (?:estuvo|estaba|estuvieron) (?:aqui|internad[oa]|hospitalizad[oa]|ingresad[oa]|con nosotros)\b"
    r"|\bdurante su (?:estancia|estadia|visita|ingreso|internacion|tratamiento)\b"
    r"|\bgracias por elegirnos\b"
    r"|\bcomo (?:nuestr[oa]|un[a]?) paciente\b"
    r"|\b(?:fue|es|era|ha sido|son|fueron|han sido) (?:un[oa]? de )?nuestr[oa]s? pacientes?\b"
    rf"|{_NOT_ABOUT_ANYONE}\b(?:fue|es|era|ha sido) paciente (?:nuestr[oa]|aqui|de este hospital|de nuestro hospital)\b"
    r"|\b(?:l[oa]s?|le|les) (?:atendimos|tratamos|operamos|internamos|ingresamos|dimos de alta|"
    r"diagnosticamos|hospitalizamos|trasladamos|vimos en)\b"
    r"|\b(?:fue|fueron|ha sido|han sido|estuvo|estuvieron) (?:atendid|tratad|operad|internad|ingresad|"
    r"hospitalizad|diagnosticad|dad)[oa]s?\b",
    _I,
)

# A member of staff named with a title ("Nurse Lopez", "Dr. Patel", "la enfermera Ruiz"): the name must
# be capitalised; words that follow a title in the templates ("nurse line") are not names.
_NOT_NAMES = (
    r"Line|Lines|Team|Advice|Hotline|Practitioner|Practitioners|Navigator|Navigators|Station|Who|On|"
    r"Call|The|Our|Your|Please|If|And|Or|Can|Will|Linea|Equipo|Consejos|De|Del|La|El"
)
_STAFF = re.compile(
    r"\b(?i:nurse|dr|doctor|doctora|dra|enfermer[oa]|surgeon|cirujan[oa]|therapist|terapeuta|midwife|"
    rf"matrona|partera|rn|np)\.?,?\s+(?!(?:{_NOT_NAMES})\b)[A-Z][a-z'-]+"
)

# A health term is tied to a person when, within four words before it (same sentence), there is a
# possessive (your, her, su), a subject and verb (you have, she is, usted tiene) or, Spanish leaving the
# subject out, a verb (está embarazada); unless a word like "about" or "of" comes between ("your questions
# about diabetes", "your risk of diabetes") or the subject follows "if" ("if you are pregnant": general
# advice, no one's condition).
_POSSESSIVES = frozenset({"your", "yours", "her", "his", "their", "su", "sus", "tu", "tus"})
_SUBJECTS = frozenset({"you", "she", "he", "they", "usted", "ella", "ustedes", "ellos", "ellas"})
_VERBS = frozenset(
    {
        "have", "has", "had", "are", "is", "was", "were", "re", "ve", "s", "got", "get", "been", "being",
        "living", "diagnosed", "still", "now", "also", "tiene", "tuvo", "tenia", "esta", "estaba",
        "padece", "sufre", "sufria", "padecia", "vive",
    }
)  # fmt: skip
_PRO_DROP_VERBS = frozenset(
    {"tiene", "tuvo", "tenia", "esta", "estaba", "padece", "sufre", "sufria", "padecia"}
)
_GENERAL = frozenset({"if", "si", "whether", "when", "cuando", "que", "quien", "persona", "alguien", "nadie"})
_ARTICLES = frozenset({"the", "a", "an", "el", "la", "los", "las", "un", "una", "s"})  # not counted
_STOPS = frozenset(
    {
        "about", "regarding", "of", "on", "for", "to", "that", "and", "or", "if", "like", "against", "from",
        "than", "whether", "sobre", "de", "para", "por", "que", "y", "o", "si", "acerca", "como", "contra",
    }
)  # fmt: skip
_SENTENCE_BREAK = re.compile(r"[.!?;:\n]")
LOOKBACK = 4

# Numbers: a run of digits with single separators ("(312) 555-0148", "77712345", "5 5 5 0 1 4 8").
_NUMBER = re.compile(r"\+?\(?\d+(?:\)?[ .\-/]?\(?\d+)*\)?")
_DIGITS = re.compile(r"\d[\d\s./-]{2,}\d")  # a number repeated from the comment (four characters or more)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b")
ID_MIN_DIGITS = 6

# Always allowed numbers: emergency and crisis lines.
CRISIS_NUMBERS = frozenset({"911", "988", "741741", "18002738255"})

# The order reasons are listed in.
KINDS = (
    "health_detail",
    "condition",
    "name",
    "number",
    "record_number",
    "date_of_birth",
    "date",
    "insurance",
    "email",
    "room",
    "phone",
    "identifier",
    "staff_name",
    "care_relationship",
)


@dataclass(frozen=True)
class Finding:
    """One reason a reply may not be sent: what kind, where in the original reply, and why."""

    kind: str
    start: int
    end: int
    reason: str
    excerpt: str = ""

    @property
    def message(self) -> str:
        return f"{self.reason}: {self.excerpt}" if self.excerpt else self.reason


@dataclass(frozen=True)
class GuardResult:
    reasons: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _national(digits: str) -> str:
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


class _Allowed:
    """Numbers a reply may contain: crisis lines and whatever appears in the account's settings."""

    def __init__(self, sources: Iterable[str]) -> None:
        numbers = {_national(_digits(m.group(0))) for s in sources for m in _NUMBER.finditer(s)}
        self.numbers = (
            {n for n in numbers if n} | set(CRISIS_NUMBERS) | {_national(n) for n in CRISIS_NUMBERS}
        )

    def __contains__(self, digits: str) -> bool:
        national = _national(digits)
        if national in self.numbers:
            return True
        # A local form of an allowed line ("555-0100" for 1-800-555-0100).
        return len(national) == 7 and any(len(n) == 10 and n.endswith(national) for n in self.numbers)


def _excerpt(original: str, start: int, end: int, lower: bool = False) -> str:
    """The original text of a finding, without format characters (zero-width spaces) and runs of spaces."""
    text = " ".join("".join(c for c in original[start:end] if unicodedata.category(c) != "Cf").split())
    return text.lower() if lower else text


def _name_pairs(text: str) -> set[str]:
    """Pairs of adjacent capitalised words (likely a person's name): "Tom Reyes" out of "Ask Tom Reyes"."""
    pairs: set[str] = set()
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        pairs.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return pairs


def _tied_to_a_person(view: Normalised, words: list[Token], first: int) -> bool:
    """Whether the health term starting at word `first` belongs to the reader or someone (see _POSSESSIVES)."""
    seen_verb = pro_drop = False
    counted = 0
    i = first - 1
    while i >= 0 and counted < LOOKBACK:
        if _SENTENCE_BREAK.search(view.text[words[i].end : words[i + 1].start]):
            break
        word = words[i].lower
        if word in _GENERAL:
            return False
        if word in _STOPS:
            break
        if word in _POSSESSIVES:
            return True
        if word in _VERBS:
            seen_verb = True
            pro_drop = pro_drop or (word in _PRO_DROP_VERBS and counted == 0)
        elif word in _SUBJECTS and seen_verb:
            return not (i > 0 and words[i - 1].lower in _GENERAL)
        if word not in _ARTICLES:
            counted += 1
        i -= 1
    return pro_drop


def _health_findings(reply: Normalised, comment: Normalised) -> list[Finding]:
    lexicon = default_lexicon()
    reply_words = tokens(reply.text)
    in_comment = {m.concept for m in lexicon.find(tokens(comment.text))}
    findings: list[Finding] = []
    for match in lexicon.find(reply_words):
        start, end = reply.origin(match.start, match.end)
        excerpt = _excerpt(reply.original, start, end, lower=True)
        if match.concept in in_comment:
            findings.append(
                Finding("health_detail", start, end, "repeats health details from the comment", excerpt)
            )
        elif _tied_to_a_person(reply, reply_words, match.first):
            findings.append(
                Finding(
                    "condition", start, end, "ties a health detail to the reader or someone close", excerpt
                )
            )
    return findings


def _number_findings(reply: Normalised, comment: Normalised, allowed: _Allowed) -> list[Finding]:
    findings: list[Finding] = []
    comment_numbers = {_digits(m.group(0)) for m in _DIGITS.finditer(comment.text)}
    for match in _DIGITS.finditer(reply.text):
        digits = _digits(match.group(0))
        if digits in comment_numbers and digits not in allowed:
            start, end = reply.origin(match.start(), match.end())
            excerpt = _excerpt(reply.original, start, end)
            findings.append(Finding("number", start, end, "repeats a number from the comment", excerpt))
    for match in _NUMBER.finditer(reply.text):
        digits = _digits(match.group(0))
        if len(digits) < ID_MIN_DIGITS or digits in allowed:
            continue
        start, end = reply.origin(match.start(), match.end())
        excerpt = _excerpt(reply.original, start, end)
        if len(_national(digits)) in (7, 10) or match.group(0).startswith("+"):
            reason = "contains a phone number that is not one of the account's lines"
            findings.append(Finding("phone", start, end, reason, excerpt))
        else:
            reason = "contains an identifier that is not in the account's settings"
            findings.append(Finding("identifier", start, end, reason, excerpt))
    return findings


def _pattern_findings(view: Normalised) -> list[Finding]:
    findings: list[Finding] = []
    for kind, reason, pattern in _PATTERNS:
        for match in pattern.finditer(view.text):
            start, end = view.origin(match.start(), match.end())
            findings.append(
                Finding(kind, start, end, reason, _excerpt(view.original, start, end, lower=True))
            )
    for match in _STAFF.finditer(view.text):
        start, end = view.origin(match.start(), match.end())
        findings.append(
            Finding("staff_name", start, end, "names a member of staff", _excerpt(view.original, start, end))
        )
    for match in _CONFIRMS_PATIENT.finditer(view.text):
        start, end = view.origin(match.start(), match.end())
        excerpt = _excerpt(view.original, start, end, lower=True)
        findings.append(Finding("care_relationship", start, end, "confirms a care relationship", excerpt))
    return findings


def _name_findings(reply: Normalised, comment: Normalised) -> list[Finding]:
    findings: list[Finding] = []
    for name in sorted(_name_pairs(comment.text)):
        for match in re.finditer(rf"\b{re.escape(name)}\b", reply.text, _I):
            start, end = reply.origin(match.start(), match.end())
            findings.append(Finding("name", start, end, "repeats a name from the comment", name))
    return findings


def _without_overlaps(findings: list[Finding]) -> list[Finding]:
    """A number already reported as a date, phone or record number is not reported again as an identifier."""
    specific = [
        f for f in findings if f.kind in {"date", "date_of_birth", "phone", "number", "record_number"}
    ]
    return [
        f
        for f in findings
        if f.kind != "identifier" or not any(s.start < f.end and f.start < s.end for s in specific)
    ]


def _check(reply: str, comment: str, allowed: _Allowed) -> list[Finding]:
    reply_view, comment_view = normalise(reply), normalise(comment)
    reply_digits, comment_digits = spell_digits(reply_view), spell_digits(comment_view)
    findings = [
        *_health_findings(reply_view, comment_view),
        *_name_findings(reply_view, comment_view),
        *_number_findings(reply_digits, comment_digits, allowed),
        *_pattern_findings(reply_view),
    ]
    findings = _without_overlaps(findings)
    return sorted(findings, key=lambda f: (KINDS.index(f.kind), f.start, f.end))


def check(
    text: str, comment_text: str | None = None, account: AccountSettings | None = None
) -> list[Finding]:
    """Every finding that stops `text` from being sent in answer to `comment_text` from `account`; spans
    point at `text` as given. Numbers in the account's settings (its lines, its links) are allowed."""
    sources = account.variables().values() if account is not None else ()
    return _check(text, comment_text or "", _Allowed(sources))


def reasons(findings: Sequence[Finding]) -> list[str]:
    """One reason per kind of finding, with what was found: "confirms a care relationship: your chart"."""
    grouped: dict[str, list[str]] = {}
    for finding in findings:
        excerpts = grouped.setdefault(finding.reason, [])
        if finding.excerpt and finding.excerpt not in excerpts:
            excerpts.append(finding.excerpt)
    return [f"{reason}: {', '.join(sorted(ex))}" if ex else reason for reason, ex in grouped.items()]


def check_reply(
    reply: str, comment: str | None = None, allowed_numbers: Sequence[str] | AccountSettings = ()
) -> GuardResult:
    """Every reason the reply may not be sent; an empty list means it may. `allowed_numbers` is the
    account's lines, or its settings (then every number in them is allowed)."""
    if isinstance(allowed_numbers, AccountSettings):
        findings = check(reply, comment, allowed_numbers)
    else:
        findings = _check(reply, comment or "", _Allowed(allowed_numbers))
    return GuardResult(reasons(findings), findings)

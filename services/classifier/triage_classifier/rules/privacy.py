"""Protected health information exposed in public: identifiers (record, account, insurance numbers, dates of
birth, phone numbers, rooms, full names) together with health details. The patterns below are the English and
Spanish core; `privacy_phrases.yaml` adds, per rule, the phrasing of the other covered languages, and the
health words the room and contact rules require."""

from functools import partial

from triage_events import Label

from triage_classifier.rules.base import Rule, in_every_language, load_phrases, rx
from triage_classifier.rules.lexicon import HEALTH_TERMS

P = Label.PRIVACY
PHRASES = load_phrases("privacy_phrases.yaml")

phrases = partial(in_every_language, PHRASES)  # rule id → its alternatives in every language


HEALTH = rx(r"\b(?:" + HEALTH_TERMS + r")\b", *phrases("health"))

RULES = (
    Rule(
        "privacy.record_number",
        P,
        rx(
            r"\b(?:mrn|medical record(?: number| no\.?| #)?|record (?:no\.?|number|#)|chart (?:number|no\.?|#)|"
            r"patient (?:id|number|no\.?|#)|n[uú]mero de (?:expediente|historia|paciente)|expediente)\s*"
            r"(?:is|es|:|#|=)?\s*#?\s*[A-Z]{0,3}-?\d[\d-]{4,}",
            r"\bmrn\s*#?\s*\d{4,}",
            # The abbreviation in any language ("MRN cua toi la …", "我的MRN是 …": no word boundary in Han text)
            r"(?<![a-z])mrn(?![a-z])\D{0,20}\d{5,}",
            *phrases("privacy.record_number"),
        ),
        "medical record or patient number",
        strong=True,
    ),
    Rule(
        "privacy.insurance_or_account_id",
        P,
        rx(
            r"\b(?:member|insurance|policy|subscriber|medicaid|medicare|group|account|acct|claim|billing|"
            r"p[oó]liza|seguro|cuenta)\s*(?:id|#|number|no\.?|n[uú]mero)\s*(?:is|es|:|#)?\s*[A-Z0-9][A-Z0-9-]{5,}",
            # The number straight after the word ("account 9910-227-31"), long enough not to be a room or a year.
            r"\b(?:account|acct|member|policy|claim|cuenta|p[oó]liza)\s*#?\s*:?\s*(?!\d{4}-\d{2}-\d{2}\b)\d[\d-]{6,}\d\b",
            *phrases("privacy.insurance_or_account_id"),
        ),
        "insurance, member or account number",
        strong=True,
    ),
    Rule(
        "privacy.date_of_birth",
        P,
        rx(
            r"\b(?:dob|d\.o\.b\.?|date of birth|birth ?date|born(?: on)?|fecha de nacimiento|nacid[oa] el|nac[ií] el|"
            r"f\.? ?nac\.?)\s*(?:is|es|:)?\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}",
            r"\b(?:dob|date of birth|fecha de nacimiento)\s*(?:is|es|:)?\s*(?:jan|feb|mar|apr|may|jun|jul|aug|"
            r"sep|oct|nov|dec|ene|abr|ago|dic)\w*\.? \d{1,2}",
            *phrases("privacy.date_of_birth"),
        ),
        "date of birth",
        strong=True,
    ),
    Rule(
        "privacy.contact_in_health_context",
        P,
        rx(
            r"\b(?:my|his|her|mi|su) (?:cell|phone|number|n[uú]mero|celular|tel[eé]fono)\s*(?:is|es|:)?\s*"
            r"\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}",
            r"\b(?:call|text|ll[aá]m[ae]me|ll[aá]menme|escr[ií]b[ae]me|escr[ií]banme|m[aá]ndenme) (?:me )?(?:at|al)\s*"
            r"(?:\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}|(?:\d{2,3}[\s.-]?)?\d{4}[\s.-]?\d{4})\b",
            r"\b(?:i|we|she|he) li(?:ve|ves) (?:at|on) \d+ \w+ (?:st|street|ave|avenue|rd|road|dr|drive|ln|lane)\b",
            r"\b(?:vivo|vive) en (?:la )?(?:calle )?\w+ \d+\b",
            *phrases("privacy.contact_in_health_context"),
        ),
        "personal phone number or address",
        requires=HEALTH,
        strong=True,
    ),
    Rule(
        "privacy.room_with_health",
        P,
        rx(
            r"\b(?:room|rm\.?|bed|habitaci[oó]n|cuarto|cama)\s*#?\s*\d{1,4}[A-Z]?\b",
            *phrases("privacy.room_with_health"),
        ),
        "room or bed number with a health detail",
        requires=HEALTH,
        strong=True,
    ),
    Rule(
        "privacy.full_name_with_health",
        P,
        rx(
            # Two capitalised words that are not an organisation ("Maplewood Health") or a title alone: the one
            # pattern where case matters.
            r"(?-i:\b(?!(?:The|This|That|My|Our|Your|Dr|Nurse|Patient|Paciente|Saint|St|Happy|Thank|Thanks|God|"
            r"Merry)\b)"
            r"[A-Z][a-záéíóúñ]+ (?!(?:Health|Hospital|Medical|Center|Centre|Clinic|Memorial|General|Regional|"
            r"University|Children'?s|Cancer|Heart|Institute|Care|System|Foundation|Street|Ave|Road|Team|"
            r"Department|Unit|Wing|Campus|Lifeline)\b)[A-Z][a-záéíóúñ]+(?:-[A-Z][a-z]+)?\b)",
            # A named person's test result, written in lower case as often as not.
            *phrases("privacy.full_name_with_health"),
        ),
        "a full name with a health detail",
        requires=HEALTH,
    ),
    Rule(
        "privacy.handle_with_admission",
        P,
        rx(
            r"@[\w.]{3,}.{0,60}\b(?:admitted|in the (?:er|icu|nicu|psych ward)|internad[oa]|hospitalizad[oa]|"
            r"diagnosed|overdosed|in rehab|en rehabilitaci[oó]n|(?:en|a) urgencias|sobredosis)\b",
            *phrases("privacy.handle_with_admission"),
        ),
        "a social handle tied to an admission or diagnosis",
    ),
)

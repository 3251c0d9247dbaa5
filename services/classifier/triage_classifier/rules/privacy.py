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

# Two capitalised words that are not an organisation ("Maplewood Health"), a place ("Cedar Ridge", "Mile
# Square Park") or a title alone: the one pattern where case matters.
FULL_NAME = (
    r"(?-i:\b(?!(?:The|This|That|My|Our|Your|Dr|Nurse|Patient|Paciente|Saint|St|Happy|Thank|Thanks|God|"
    r"Merry|Walk|Buddy|In|At|On|For|From|And|But|When|After|Breaking|Little|Upper|Lower|Old|North|South|"
    r"East|West|New|Los|Las|San|Santa|Fort|Mount|Mt|Lake|Port)\b)"
    r"[A-Z][a-záéíóúñ]+ (?!(?:Health|Hospital|Medical|Center|Centre|Clinic|Memorial|General|Regional|"
    r"University|Children'?s|Cancer|Heart|Institute|Care|System|Foundation|Street|St|Ave|Avenue|Road|Rd|"
    r"Blvd|Team|Department|Unit|Wing|Campus|Lifeline|Park|Ridge|Valley|Hills?|Heights|Square|Beach|Bay|"
    r"City|County|Lake|River|Springs?|Plaza|Mall|Church|School|College|High|Dialysis|People|Million|"
    r"Thousand)\b)"
    r"[A-Z][a-záéíóúñ]+(?:-[A-Z][a-z]+)?\b)"
)
# Staff named by their title ("nurse Duarte", "la enfermera Marisol", "Dr. Kim").
TITLED = (
    r"\b(?:nurse|dr\.?|doctor|doctora|dra\.?|enfermer[oa]|receptionist|recepcionista|tech|t[eé]cnic[oa]|"
    r"infirmi[eè]re?|enfermeir[oa]|m[eé]dic[oa]|m[eé]decin|enfimy[eè]|dokt[eè]|nars|y t[aá]|b[aá]c s[iĩ])\.?\s+"
    r"(?!(?:who|that|at|in|on|for|de|del|da|do|en|que|q)\b)[a-z]+"
)
# The conditions whose exposure harms most, named alone: HIV and other sexually transmitted infections,
# hepatitis, tuberculosis, addiction and rehab, an overdose, a psychiatric stay or medicines, a miscarriage
# or an abortion, a pregnancy test. Not cancer or a stroke, which public figures announce themselves.
SENSITIVE = "|".join(
    f"(?:{words})"
    for words in (
        r"\b(?:hiv|aids|vih|sida|std|sti|chlamydia|clamidia|gonorrh?o?ea|gonorrea|syphilis|s[ií]filis|"
        r"herpes|hepatitis|tuberculosis|rehab|rehabilitaci[oó]n|detox\w*|desintox\w*|overdos\w*|sobredosis|"
        r"psych ward|psychiatric|psiqui[aá]tric\w*|schizophreni\w*|esquizofreni\w*|bipolar|antidepress\w*|"
        r"antidepresiv\w*|miscarriage|aborto|abortion|alcoholi\w*|alcoh[oó]lic\w*|addict\w*|adicci[oó]n|"
        r"adict\w*|dui|perdi[oó] (?:el|al|a su) beb[eé])\b",
        *phrases("sensitive"),
    )
)
# ... but not a clinic, a walk or a support group; nor a doctor who treats it, sees its patients or gives a
# talk on it; nor a remedy that "cures" it; nor someone who speaks of their own openly.
NOT_A_PERSONS = (
    r"(?!\s+(?:clinic|center|centre|program\w*|services?|testing|tests?|walk|awareness|support|group|patients?|"
    r"pacientes|cl[ií]nica|centro|programa|prevenci[oó]n|prevention|campaign|campa[nñ]a|month|mes|unit|ward|"
    r"meds? for)\b)"
)
NOT_TREATING = (
    r"(?:(?!\b(?:treats?|treating|trata|atiende|see|sees|seeing|ve a|specialist|especialista|works? (?:in|at)|"
    r"trabaja en|patients?|pacientes?|benh nhan|kham|trete|soigne\w*|atteints?|cures?|cured|curan?|curou|"
    r"guerit|guerir|talks?|talking|lectures?|webinar|seminar|workshop|presentation|explain\w*|explic\w*|"
    r"platica|charla|conferencia|conferences?|konferans|noi ve|about|sobre|sur|sou|openly|publicly|"
    r"publicamente|publiquement|cong khai|screening|testing|pruebas?|tamizaje|depistaj|depistage|feria|fair|"
    r"noi chuyen|tu van)\b|\bon ['\"\u2018\u201c])[^.!?\n])"
)

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
            FULL_NAME,
            # A named person's test result, written in lower case as often as not.
            *phrases("privacy.full_name_with_health"),
        ),
        "a full name with a health detail",
        requires=HEALTH,
        # Decisive: a named person, or staff by title, with one of the conditions above.
        decisive=rx(
            f"(?:{FULL_NAME}|{TITLED}){NOT_TREATING}{{0,50}}(?:{SENSITIVE}){NOT_A_PERSONS}",
            *phrases("privacy.named_condition"),
        ),
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

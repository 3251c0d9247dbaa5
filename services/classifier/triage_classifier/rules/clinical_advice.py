"""Requests for individual medical advice: a question about what a specific person should do about their
symptoms, medication, dose, result or treatment. Service questions and general education are not."""

from triage_events import Label

from triage_classifier.rules.base import Rule, rx

C = Label.CLINICAL_ADVICE

_FAMILY = (
    r"(?:my|mi|our) (?:son|daughter|kid|child|baby|toddler|newborn|infant|mom|mother|dad|father|husband|"
    r"wife|partner|grandma|grandpa|grandmother|grandfather|boyfriend|girlfriend|hijo|hija|beb[eé]|mam[aá]|"
    r"pap[aá]|esposo|esposa|abuel[oa]|ni[ñn][oa]|sister|brother|hermano|hermana|"
    r"\d+[- ](?:year|month|week|yr|mo)[- ]old)"
)

RULES = (
    Rule(
        "clinical.should_i_medication",
        C,
        rx(
            r"\b(?:should|can|could|do|may|is it (?:ok|okay|safe|fine) (?:for|to)|would it be (?:ok|safe) to)\s+"
            r"(?:i|we|he|she|they|" + _FAMILY + r")\b.{0,50}\b(?:take|give|stop|skip|double|increase|lower|"
            r"mix|combine|restart|keep taking|go off|come off|use|apply|split|crush|dose)\b",
            r"\b(?:puedo|debo|deber[ií]a|le puedo|le doy|se puede)\b.{0,40}\b(?:tomar|darle|dar|dejar|"
            r"suspender|mezclar|aumentar|bajar|seguir tomando|aplicar)\b",
        ),
        "asks whether a specific person should take, give or stop a medicine",
    ),
    Rule(
        "clinical.personal_result",
        C,
        rx(
            r"\b(?:my|his|her|mi|su)\b.{0,20}\b(?:a1c|inr|psa|tsh|ldl|hdl|cholesterol|colesterol|glucose|"
            r"glucosa|sugar|az[uú]car|potassium|potasio|creatinine|creatinina|hemoglobin|hemoglobina|platelets|"
            r"white count|wbc|blood pressure|presi[oó]n|bp|levels?|niveles?|results?|resultados?|biopsy|"
            r"mri|ct|scan|x-?ray|labs?|an[aá]lisis)\b.{0,40}(?:\d|came back|sali[oó]|dio|is|was|es)",
        ),
        "mentions a specific person's result",
    ),
    Rule(
        "clinical.what_to_do_for_person",
        C,
        rx(
            r"\b(?:what|how much|how many|which|when) (?:should|can|do) (?:i|we|" + _FAMILY + r")\b.{0,40}"
            r"(?:give|take|do|dose|use)\b",
            r"\bis (?:this|that|it) (?:normal|serious|something to worry about|an infection)\b.*\?",
            r"\b(?:do|should) (?:we|i) (?:need to )?(?:bring|take) (?:him|her|them|it)(?: in)?\b.{0,30}\?",
            r"\b(?:do|does) (?:i|he|she|" + _FAMILY + r") need (?:to (?:see|go)|antibiotics|stitches|an? )\b",
            r"\b(?:should|do) (?:i|we) (?:go to|take (?:him|her|them) to) the (?:er|emergency|urgent care)\b",
            r"\bqu[eé] (?:le )?(?:doy|hago|puedo (?:darle|tomar|hacer))\b",
            r"\b(?:es normal|ser[aá] grave|debo preocuparme)\b",
        ),
        "asks what a specific person should do",
    ),
    Rule(
        "clinical.personal_symptom",
        C,
        rx(
            r"\b(?:i(?:'ve| have)?|i'm|im|"
            + _FAMILY
            + r"(?:'s| has| is| had)?)\b.{0,40}\b(?:fever|temp(?:erature)?|"
            r"rash|pain|ache|cough|vomit\w*|diarrh\w+|swollen|swelling|dizzy|bleeding|spotting|lump|"
            r"fiebre|dolor|tos|v[oó]mito\w*|mareo\w*|sarpullido|hinchad\w+|sangrado)\b.{0,80}\?",
        ),
        "describes a specific person's symptom and asks",
    ),
)

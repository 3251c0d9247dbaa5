"""Insults, harassment, dehumanising language and threats aimed at people. Civil complaints are not. The
patterns below are the English and Spanish core; `hostile_phrases.yaml` adds, per rule, the phrasing of the
other covered languages."""

from functools import partial

from triage_events import Label

from triage_classifier.rules.base import Rule, in_every_language, load_phrases, rx
from triage_classifier.rules.urgent import I_WILL, SENT_THINGS, SPECIFIC_THREAT

H = Label.HOSTILE
PHRASES = load_phrases("hostile_phrases.yaml")

phrases = partial(in_every_language, PHRASES)  # rule id → its alternatives in every language


_INSULT = (
    r"idiots?|morons?|stupid|dumb|clowns?|incompetent|pathetic|useless|scum|trash|garbage|losers?|butchers?|"
    r"quacks?|imbeciles?|cretins?|hacks?|frauds?|liars?|crooks?|pigs?|rats?|snakes?|witch|bitch\w*|"
    r"assholes?|a\$\$holes?|jerks?|dimwits?|halfwits?|braindead|brain-dead|clueless|worthless|"
    r"idiotas?|est[uú]pid[oa]s?|pendej[oa]s?|imb[eé]cil(?:es)?|in[uú]til(?:es)?|basura|rat[ae]s|"
    r"ladr[oó]n(?:es)?|mentiros[oa]s?|payas[oa]s?|cerd[oa]s?|carniceros?|matasanos"
)

# Staff by their role or department, the target an insult at staff names (LABELS.md: the target can be staff).
_ROLE = (
    r"receptionists?|nurses?|doctors?|docs|physicians?|surgeons?|pediatricians?|anesthesiologists?|staff|"
    r"admins?|administrators?|management|managers?|security guards?|guards?|techs?|phlebotomists?|"
    r"pharmacists?|front desk(?: \w+)?|billing(?: department| dept| people| lady| guy)?|schedulers?|"
    r"social media (?:manager|team|person|intern)|community manager|moderators?|mods|executives?|residents?|"
    r"interns?|paramedics?|operators?|(?:er|icu) staff|"
    r"recepcionistas?|enfermer[oa]s?|doctor(?:a|es|as)|m[eé]dic[oa]s?|cirujan[oa]s?|pediatras?|"
    r"guardias?(?: de? seguridad)?|vigilantes?|administrativ[oa]s?|moderador(?:a|es)?|cajer[oa]s?|"
    r"departamento de \w+|admisiones|facturaci[oó]n"
)
_INSULT_ADJ = (
    r"stupid|dumb(?:ass)?|idiotic|moronic|incompetent|useless|pathetic|worthless|clueless|brain-?dead|"
    r"lazy(?:-ass)?|retarded|pinch(?:e|es)|maldit[oa]s?|pendej[oa]s?|est[uú]pid[oa]s?|in[uú]til(?:es)?"
)
_INSULT_AFTER_ES = (
    r"pendej[oa]s?|idiotas?|est[uú]pid[oa]s?|in[uú]til(?:es)?|imb[eé]cil(?:es)?|tarad[oa]s?|inept[oa]s?|"
    r"de quinta|de cuarta|de pacotilla|de mierda"
)

RULES = (
    Rule(
        "hostile.insult",
        H,
        rx(
            r"\b(?:you(?:'re| are)?|ur|u r|your \w+ (?:is|are)|you (?:guys|people)(?: are)?|y'?all(?: are)?|"
            r"ustedes son|eres|son un[oa]?s?)\s+(?:(?:such|a|an|total|complete|bunch of|\w+)\s+){0,3}(?:"
            + _INSULT
            + r")\b",
            r"\b(?:are|is|r|son|eres)\s+(?:(?:such|a|an|total|complete|bunch of|[\w-]+)\s+){0,2}(?:"
            + _INSULT
            + r")\b",
            r"\b(?:"
            + _INSULT
            + r")\b.{0,15}\b(?:working|running|in charge|at the desk|doctors?|nurses?|staff|"
            r"admin\w*)\b",
            *phrases("hostile.insult"),
        ),
        "an insult aimed at people",
        # Decisive: an insult glued to staff by their role ("stupid receptionist", "la recepcionista pendeja",
        # "the ER doctor is a clown", "a joke of a surgeon"), not a friend teased or oneself.
        decisive=rx(
            r"\b(?:"
            + _INSULT_ADJ
            + r")\s+(?:ass\s+|f\w*ing\s+|las\s+|los\s+|el\s+|la\s+)?(?:"
            + _ROLE
            + r")\b",
            r"\b(?:" + _ROLE + r")\s+(?:" + _INSULT_AFTER_ES + r")\b",
            r"(?:^|\b(?:the|that|this|those|these|your|ur|el|la|los|las|ese|esa|su|sus)\s+)(?:\w+\s+)?(?:"
            + _ROLE
            + r")\b[^.!?\n]{0,30}\b(?:is|are|r|es|son)\s+(?:(?:such|a|an|total|complete|bunch of|just|un[oa]?s?|"
            r"puro|pura|bola de|una bola de|bn|bien|re)\s+){0,3}(?:"
            + _INSULT
            + r"|tarad[oa]s?|cobardes?|chiste)\b",
            # "who hired these clowns at the front desk?"
            r"\b(?:who hired|qui[eé]n contrat[oó] a) (?:these|those|this|the|estos|estas|esos|esas|est[ea]) "
            r"(?:clowns?|idiots?|morons?|incompetents?|imbeciles?|payas[oa]s?|idiotas?|pendej[oa]s?|in[uú]tiles?|tarad[oa]s?)\b",
            r"\b(?:excuse|joke) (?:for|of) an? (?:"
            + _ROLE
            + r")\b|\bchiste de (?:m[eé]dico|doctor|enfermer[oa])\b",
            *phrases("insult_at_staff"),
        ),
    ),
    Rule(
        "hostile.harassment",
        H,
        rx(
            r"\bkys\b|\bkill yourself\b|\bgo die\b|\bdrop dead\b|\bm[aá]tate\b|\bmu[eé]rete\b",
            # ... not the delighted "shut up and take my money", "shut up, no way, congrats!!"
            r"\b(?:shut (?:the f\w* )?up|stfu|c[aá]llate)\b(?! and take my money)(?![,.!\s]{0,4}(?:no way|omg|oh my god|"
            r"congrat\w*|that'?s amazing|this is amazing|for real\?)\b)",
            r"\b(?:nobody|no one) (?:wants|likes|cares about) you\b",
            r"\bf+[u*@#]+c*k+\w* (?:you|u|off|this (?:place|hospital))\b|\bscrew you\b|\bvete a la mierda\b",
            r"\ba la mierda (?:este|esta|el|la|con (?:este|esta|el|la)) (?:hospital|cl[ií]nica|lugar)\b",
            *phrases("hostile.harassment"),
        ),
        "harassment or a personal attack",
        strong=True,
    ),
    Rule(
        "hostile.threat",
        H,
        rx(
            r"\b(?:" + I_WILL + r"|we(?:'ll| will)|voy a|vamos a)\s+"
            # Only verbs of violence: "I'll get the forms" and "we'll find you a wheelchair" are not threats.
            r"(?:hurt|kill|stab|beat|punch|strangle|come for|matar|golpear)\s+"
            r"(?:you|him|her|them|every|that|this|the|te|los|las|a ese|a esa)\b",
            # ... and "shoot", unless it is to send someone a message, an email or a photo.
            r"\b(?:" + I_WILL + r"|we(?:'ll| will))\s+shoot\s+"
            r"(?:you|him|her|them|every|that|this|the)\b(?![^.!?\n]{0,40}\b" + SENT_THINGS + r"\b)",
            # "I'll find you after your shift" is a threat; "I'll get you an appointment" is service.
            r"\b" + I_WILL + r"\s+(?:find|get)\s+you\b(?!\s+(?:a|an|the|"
            r"some|one|two|your|more|in|on|at|to|there|here|set|booked|scheduled|sorted|covered|back|home|"
            r"through|started|connected|seen)\b)",
            # Spanish puts the object pronoun before the verb or joins it to it: "te voy a matar", "matarte".
            r"\b(?:te|lo|la|los|las)\s+(?:voy|vamos) a\s+(?:matar|golpear)\b",
            r"\b(?:voy|vamos) a\s+(?:matar|golpear)(?:te|lo|la|los|las)\b",
            r"\b(?:somebody|someone|you all|y'?all|they|alguien)\s+(?:will|is going to|gonna|va a)\s+(?:pay|pagar)\b",
            # ... but "you'll regret it when you're stuck in bed" is a flu-shot reminder.
            r"\b(?:watch your back|you(?:'ll| will) (?:pay|regret)|te vas a arrepentir|cu[ií]date la espalda)\b"
            r"(?![^.!?\n]{0,60}\b(?:when|if|once|cuando|si)\b)",
            # ... and to more than one, and "I know where you live", said to someone.
            r"\b(?:se van a arrepentir|van a arrepentirse|cu[ií]dense la espalda)\b(?![^.!?\n]{0,60}\b(?:cuando|si)\b)",
            r"\bi know where (?:you|u|ya|he|she|they|(?:your|ur|that|the) \w+) (?:live|lives|stay|stays)\b|"
            r"\b(?:yo )?s[eé] d[oó]nde (?:vives|vive|viven)\b",
            r"\byou(?: people| guys| all)? (?:are )?(?:gonna|going to) regret\b(?![^.!?\n]{0,60}\b(?:when|if|once)\b)|"
            r"\b(?:ya )?(?:(?:van|vas) a ver|ver[aá]n|ver[aá]s) lo que (?:les|te) (?:pasa|va a pasar)\b|"
            r"\besto no se (?:va a quedar|queda) as[ií]\b",
            r"\b(?:deserves?|deber[ií]an?) (?:to )?(?:be )?(?:shot|hanged|beaten|die|morir|ser golpead\w+)\b",
            *phrases("hostile.threat"),
            *SPECIFIC_THREAT,
        ),
        "a threat of violence",
        strong=True,
    ),
    Rule(
        "hostile.dehumanising",
        H,
        rx(
            r"\b(?:vermin|subhuman|animals|parasites|cockroaches|cucarachas|par[aá]sitos|animales)\b",
            *phrases("hostile.dehumanising"),
        ),
        "dehumanising language",
    ),
)

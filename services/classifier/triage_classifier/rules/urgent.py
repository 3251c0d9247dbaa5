"""Someone in immediate danger: suicidal intent, self-harm or overdose now, an emergency in progress, a
specific threat. Figures of speech and awareness posts are counter-evidence. The patterns below are the
English and Spanish core; `urgent_phrases.yaml` adds, per rule, the phrasing of every covered language
(more English and Spanish slang and euphemism too), as data."""

from functools import partial

from triage_events import Label

from triage_classifier.rules.base import Rule, in_every_language, load_phrases, rx

U = Label.URGENT
PHRASES = load_phrases("urgent_phrases.yaml")

phrases = partial(in_every_language, PHRASES)  # rule id → its alternatives in every language


def planned(acts: tuple[str, ...], when: str) -> tuple[str, ...]:
    """Each threatening act with a time anywhere near it, before, inside or after: "tmrw at 8am with my
    piece", "Tuesday at 5pm ... I'll be waiting by your car". One alternative per act and side, so the rules
    prefilter runs each only where its own words occur."""
    return tuple(
        alternative
        for act in acts
        # The act is tried first at each position (cheap: it fails at once almost everywhere), the time after.
        for alternative in (
            f"(?={act})(?=[\\s\\S]{{0,200}}?{when})(?:{act})",
            f"{when}[\\s\\S]{{0,160}}?(?:{act})",
        )
    )


# Threats in the register of real posts, written from the training split's threats: a weapon brought, a wait
# by someone's car, a bomb set, a payback, each with a time. Each act alone is too common ("cut my finger with
# a knife"), so it needs the time. On every non-urgent corpus item and 40,928 lines of the public data sets
# they fire on none.
WEAPON_EN = (
    r"(?:(?:dad|brother|uncle|cousin)'?s )?(?:gun|guns|rifle|shotgun|pistol|piece(?! of)|knife|bat|bats|machete|"
    r"pipe bomb|bomb|gasoline|can of gas|gas can)\b(?! wound| cut| injur| laceration)"
)
# A question about what may be brought in is no threat: "can I bring my pocket knife into the hospital?"
NOT_ASKED = (
    r"(?<!can i )(?<!may i )(?<!allowed to )(?<!ok to )(?<!okay to )(?<!can we )(?<!puedo )(?<!se puede )"
)
# A weapon carried for an everyday purpose named after the verb, in the same sentence: no threat ("bringing my
# bat to practice saturday", "going hunting with my rifle saturday"). Checked after the verb, not before it:
# a lookahead at every position of every comment would cost the rules half their time again.
EVERYDAY_USE_EN = (
    r"(?![^.!?\n]{0,100}\b(?:range|practice|the game|a game|my game|league|tournament|tryouts?|batting|softball|"
    r"baseball|cricket|hunting|hunt|deer|camping|fishing|kitchen|cook|cooking|cake|turkey|bbq|barbecue|picnic|"
    r"carve|carving|class|lesson|sharpen|sharpened|sharpening|show and tell|costume|halloween)\b)"
)
ACT_EN = (
    r"\b(?:coming|comin|omw|on my way|walking|walk|pulling up|pullin up|showing up|be there|be back|i'?m back|"
    r"im back|heading|headed|going|rolling|rollin)\b" + EVERYDAY_USE_EN + r".{0,80}\b(?:with|w/?|w) "
    r"(?:my|a|his|the|some|our|me|enough|them|those) " + WEAPON_EN,
    r"\b"
    + NOT_ASKED
    + r"(?:bringing|bring|brought|packing)\b"
    + EVERYDAY_USE_EN
    + r" (?:my |a |his |the |some |our |me |them |those )?"
    + WEAPON_EN,
    r"\bbringing something (?:special|for)\b",
    r"\bwith something for (?:him|her|them|you|all of you)\b",
    r"\benough to make the news\b",
    r"\b(?:comin|coming|walking|rolling|rollin|pullin|pulling) (?:in|thru|through|up) strapped\b(?! to| into| in)",
    r"\b(?:i'?ll|i will|gonna|i'?m gonna|im gonna) (?:be )?wait(?:ing)? "
    r"(?:for (?:her|him|you|u|them|that\b[^.!?]{0,40}?) (?:by|in|at|outside|near) (?:your|ur|the|her|his|their) "
    r"(?:car|garage|parking|staff lot|employee lot|lot)|(?:by|in|at|outside|near) (?:your|ur|her|his|their) "
    r"(?:car|garage|parking|staff lot|employee lot)|(?:in|at) the (?:staff|employee) lot)",
    r"\b(?:somebody|someone|everybody) (?:pays|will pay|gonna pay|is gonna pay|payin|paying) for (?:it|this)\b",
    r"\bpays? for what (?:he|she|you|they) did\b",
    r"\bbomb.{0,60}\bgoes off\b|\bgoes off\b.{0,60}\bbomb",
    r"\b(?:burn it|burning it) (?:down|to the ground)\b",
    r"\b(?:blow it|blowing it) up\b",
    r"\b(?:somebody|someone|everybody) bleeds\b",
    r"\b(?:won'?t|not) (?:make it|making it) to (?:her|his|their|your|ur) car\b",
    r"\bput (?:her|him|you|them|u) in the ground\b",
    r"\bdead (?:wo)?man walking\b",
    r"\b(?:everyone'?s|everybody'?s) last day\b",
    r"\b(?:shoot|shooting) (?:up )?(?:the|this|that|ur|your) (?:place|er|clinic|hospital|lobby|office|floor|ward)\b",
)
TIME_EN = (
    r"\b(?:tonight|right now|tomorrow|tmrw|tmr|noon|midnight|at \d{1,2}(?::\d\d)?|\d{1,2}(?::\d\d)? ?(?:am|pm)|"
    r"on the \d{1,2}(?:st|nd|rd|th)|monday|tuesday|wednesday|thursday|friday|saturday|sunday|shift change|"
    r"(?:your|her|his|their) shift (?:ends|changes)|after (?:her|his|your|their) shift|visiting hours)\b"
)
WEAPON_ES = r"(?:pistola|cuete|cuchillo|navaja|escopeta|rifle|bomba|gasolina|fierro|machete|arma)\b"
EVERYDAY_USE_ES = (
    r"(?![^.!?\n]{0,100}\b(?:asado|carne|carnita|parrillada|pastel|cocina|cocinar|cortar|campamento|caza|"
    r"cacer[ií]a|pesca|pr[aá]ctica|partido|clase|afilar)\b)"
)
ACT_ES = (
    r"\b(?:voy|vamos|llego|llegar|caigo|caerle|ir|ire|paso|pasar|entro|entrar)\b"
    + EVERYDAY_USE_ES
    + r".{0,60}\bcon "
    r"(?:mi|una|un|el|la) " + WEAPON_ES,
    r"\b"
    + NOT_ASKED
    + r"(?:llevar|llevo|traigo|traer)\b"
    + EVERYDAY_USE_ES
    + r" (?:la|mi|una|el|un) "
    + WEAPON_ES,
    r"\bme (?:las|la) vas?n? a pagar\b",
    r"\b(?:va|vas|van) a pagar (?:lo|por lo) (?:que|q)\b",
    r"\bme voy a desquitar\b",
    r"\b(?:los|las|la|lo|le|les) voy a (?:matar|quebrar|balear|plomear|madrear)\b",
    r"\bpartir(?:le|les)? la madre\b",
    r"\bvoy a (?:quemar|balear|plomear|incendiar)\b",
    r"\bno (?:va a salir|van a salir|sale|salen) viv[oa]s?\b",
)
TIME_ES = (
    r"\b(?:manana|esta noche|hoy|a las \d{1,2}|al mediodia|a medianoche|lunes|martes|miercoles|jueves|viernes|"
    r"sabado|domingo|cambio de turno)\b"
)

# The first person's intent, as threats are written: "I'll", "I'm going to", "I am gonna".
I_WILL = r"i(?:'ll| will|'m going to| am going to|'m gonna| am gonna)"
# What is sent, not fired: "I'll shoot you a message", "shoot them the photo".
SENT_THINGS = r"(?:message|text|email|e-mail|dm|note|line|call|pic|picture|photo|reminder|video|link|invite)"
# Who or what a violent verb must be aimed at to be a threat: "I'll shoot you a message tomorrow", "I'm
# going to kill it at my presentation" and "voy a matar el examen mañana" have no such target.
TARGET_EN = (
    r"(?:you|u|him|her|them|everyone|everybody|all of you|y'?all|someone|somebody|people|ppl|bitch(?:es)?|staff|"
    r"(?:the|that|this|your|ur|those|these|every|each) (?:\w+ )?(?:doctors?|docs?|nurses?|surgeons?|"
    r"receptionists?|guards?|staff|people|ppl|patients|hospital|clinic|place|er|lobby|office|ward|building|"
    r"front desk|pharmacy|security|manager|admin|billing)|dr\.? \w+|doctor \w+|nurse \w+)\b"
    r"(?! (?:a|an) (?:quick )?" + SENT_THINGS + r"\b)"
)
WHEN_OR_WHERE = (
    r"(?:tomorrow|tonight|today|monday|tuesday|wednesday|thursday|friday|saturday|sunday|at \d|o'?clock|lobby|"
    r"entrance|parking|er|ward|floor|ma[ñn]ana|hoy|esta noche|entrada)"
)
# Places at the facility where a weapon brought is a threat without a time ("bringing my gun to the ER").
FACILITY_EN = (
    r"(?:hospital|er|e\.r\.|emergency room|clinic|office|lobby|ward|floor|unit|icu|nicu|front desk|waiting room|"
    r"parking lot|parking garage|staff lot|pharmacy|billing|appointment)\b"
)
FACILITY_ES = (
    r"(?:hospital|clinica|consultorio|emergencias|urgencias|sala de espera|recepcion|farmacia|oficina|cita)\b"
)
# A threat of violence with a target, place or time. Urgent, and hostile too (LABELS.md: a threat is always
# hostile), so `hostile.threat` searches these alternatives as well.
SPECIFIC_THREAT = (
    r"\b(?:" + I_WILL + r"|gonna)\s+(?:shoot|kill|stab|bomb|"
    r"blow up|hurt|attack) (?:up )?" + TARGET_EN + r".{0,60}\b" + WHEN_OR_WHERE + r"\b",
    r"\bvoy a (?:matar|disparar(?:le|les)?|apu[ñn]alar|balear) (?:a |al )\w.{0,60}\b" + WHEN_OR_WHERE + r"\b",
    r"\b"
    + NOT_ASKED
    + r"(?:bring|bringing|brought|taking|takin|packing|carrying)\b"
    + EVERYDAY_USE_EN
    + r" (?:my |a |his |the |some |our |me |them |those )?"
    + WEAPON_EN
    + r"[^.!?\n]{0,30}? (?:to|into|in|at) (?:the |your |ur |this |that |my )?"
    + FACILITY_EN,
    r"\b(?:(?:coming|comin|walking|walk|heading|going|showing up|show up|pulling up|pullin up) (?:in)?to|"
    r"(?:i'?ll|i will|gonna|i'?m gonna|im gonna) be (?:at|in|outside))\b"
    + EVERYDAY_USE_EN
    + r" (?:the |your |ur |this |that |my )?(?:\w+ ){0,2}"
    + FACILITY_EN
    + r"[^.!?\n]{0,40}\b(?:with|w/?) (?:my|a|his|the|some) "
    + WEAPON_EN,
    r"\b"
    + NOT_ASKED
    + r"(?:llevo|traigo|llevar|traer|voy|entro|llego|caigo)\b"
    + EVERYDAY_USE_ES
    + r"[^.!?\n]{0,30}\b"
    + WEAPON_ES
    + r"[^.!?\n]{0,30}\b(?:al|a la|en el|en la|a) "
    + FACILITY_ES,
    r"\b(?:voy|llego|entro|caigo)\b"
    + EVERYDAY_USE_ES
    + r" (?:al|a la|a) "
    + FACILITY_ES
    + r"[^.!?\n]{0,40}\bcon (?:mi|una|un|el|la) "
    + WEAPON_ES,
    *planned(ACT_EN, TIME_EN),
    *planned(ACT_ES, TIME_ES),
    *phrases("urgent.specific_threat"),
)


RULES = (
    Rule(
        "urgent.suicidal_intent",
        U,
        rx(
            r"\b(?:i(?:'m| am)?|im) (?:going to|gonna|about to|want to|wanna|will|plan(?:ning)? to|ready to|"
            r"decided to)\s+(?:kill myself|end (?:it|it all|my life|things)(?! with\b| between\b)|take my (?:own )?life|"
            # "gonna jump on that offer", "about to jump in line" are no plan to jump.
            r"die tonight|jump(?! (?:on|at|in|into|ahead|through|back|up|the (?:line|queue|gun)|for joy|rope|to "
            r"conclusions|start)\b)|hang myself|overdose|not wake up)",
            r"\bkill(?:ing)? myself\b",
            r"\b(?:end|ending) (?:it all|my life)\b",
            # A past crisis told as recovered ("my suicidal period last year, in a good place now") is not one now.
            r"\bsuicid(?:e|al)\b(?!.{0,60}\b(?:last (?:year|month|spring|summer|fall|winter)|years? ago|"
            r"in a good place|prevention|awareness)\b).{0,40}\b(?:tonight|today|now|note|plan)\b",
            # ... unless it is an absence: "I won't be here tomorrow for my infusion, flying to see my kids".
            r"\b(?:won'?t|will not) be (?:here|alive|around) (?:tomorrow|much longer|by morning)\b"
            r"(?! (?:for|at) (?:my|the|our|your|a)\b)(?![^.!?\n]{0,60}\b(?:flying|flight|travel\w*|out of town|"
            r"vacation|trip|day off|off work|reschedul\w*|appointment|infusion|shift|class)\b)",
            # A goodbye that says when it will be back, or what it leaves for, is a sign-off, not a last post.
            r"\b(?:goodbye|bye) (?:everyone|world|all)\b(?![^.!?\n]{0,100}\b(?:see (?:you|ya|u|y'?all)|next (?:week|"
            r"month|semester|year|time|season)|holidays?|vacation|signing off|for the (?:night|weekend|day|summer)|"
            r"back (?:on|in|next|soon)|merry|happy (?:holidays|new year))\b)",
            r"\b(?:don'?t|do not) (?:want to|wanna) (?:be here|be alive|exist|live|wake up)\b.{0,30}"
            r"\b(?:anymore|any more|no more|tonight|now)\b"
            # "... this waiting room is freezing": the here is a place to leave.
            r"(?![^.!?\n]{0,40}\b(?:this|the|that) (?:waiting room|hospital|line|er|clinic|lobby|parking lot|queue|"
            r"office|job|app|hold music)\b)",
            r"\btonight (?:is|'s) the night\b",
            r"\b(?:me quiero|quiero) (?:morir|matar)\b(?! de (?:la |el )?(?:risa|verg[uü]enza|hambre|sue[ñn]o|calor|"
            r"fr[ií]o|ganas|pena|flojera|aburrimiento))(?![^.!?\n]{0,30}\b(?:jaja\w*|jeje\w*|jsjs\w*|xd)\b)|"
            r"(?<!intent[eé] )\bquitarme la vida\b|\bsuicidarme\b|\bmatarme\b",
            # "me voy a matar" is intent; "me voy a matar estudiando / de risa / en el gym" is a figure of speech.
            r"\bme (?:voy|vuelvo) a suicidar\b|\bme voy a matar\b(?! (?:de|del|en el|en la|con el|con la|por el|por la|"
            r"haciendo|estudiando|trabajando|corriendo|\w+ando\b|\w+iendo\b))",
            r"\bya no (?:quiero|aguanto) (?:vivir|m[aá]s)\b|\bno quiero (?:seguir )?viviendo\b",
            *phrases("urgent.suicidal_intent"),
        ),
        "first-person suicidal intent",
        strong=True,
    ),
    Rule(
        "urgent.means_or_plan",
        U,
        rx(
            r"\b(?:pills|pastillas|rope|cuerda|gun|pistola|razor|blade|navaja)\b.{0,30}\b(?:lined up|ready|"
            r"in my hand|counted|listas?|en la mano)\b",
            r"\b(?:on|at) the (?:bridge|roof|ledge|edge)\b",
            r"\b(?:bottle|pills|pastillas)\b.{0,30}\b(?:in front of me|next to me|frente a m[ií])\b",
            r"\b(?:cutting|cortando(?:me)?) (?:myself|me)?\s*(?:right now|now|ahora)\b",
            r"\bi(?:'m| am) (?:cutting|bleeding)\b",
            *phrases("urgent.means_or_plan"),
        ),
        "means, place or timing of self-harm",
    ),
    Rule(
        "urgent.overdose_now",
        U,
        rx(
            r"\b(?:i|he|she|they|my \w+|mi \w+|[eé]l|ella) (?:just )?(?:took|swallowed|tom[oó]|se tom[oó]) "
            r"(?:a |the )?(?:whole|entire|all|tod[oa]s?)\b.{0,30}"
            r"\b(?:bottle|pills|tablets|pastillas|meds|frasco)\b"
            # "took all my pills this morning like the pharmacist said" is the daily dose.
            r"(?![^.!?\n]{0,40}\b(?:like|as|como) (?:the |my |el |la |me )?(?:pharmacist|doctor|dr|prescribed|directed|"
            r"instructed|told|usual|farmaceutic[oa]|indic[oó]|recet[oó])\b)",
            r"\b(?:overdos(?:ed|ing)|od'?(?:ed|ing)|sobredosis)\b.{0,40}\b(?:now|right now|just|ahora|"
            r"not waking|won'?t wake|no despierta)\b",
            r"\b(?:not waking up|won'?t wake up|no despierta|turning blue|se est[aá] poniendo (?:azul|morad[oa]))\b",
            *phrases("urgent.overdose_now"),
        ),
        "overdose in progress",
        strong=True,
    ),
    Rule(
        "urgent.emergency_now",
        U,
        rx(
            r"\b(?:is not|isn'?t|not|stopped|no est[aá]|dej[oó] de) breath(?:ing)?\b|\bno (?:est[aá] )?respira\b",
            # "feel like I'm having a heart attack sometimes" describes anxiety, not an emergency now.
            r"\b(?:is|are|'s|am|i'm) having an? (?:seizure|stroke|heart attack|allergic reaction)\b"
            r"(?!.{0,15}\b(?:sometimes|every time|whenever)\b)",
            # Not a question about the signs: "¿qué síntomas tiene un infarto en mujeres?"
            r"(?<!sintomas )(?<!senales )(?<!signos )\b(?:le est[aá] dando|tiene) (?:un )?(?:infarto|derrame|"
            r"convulsi[oó]n|ataque)\b",
            r"\bchest pain\b.{0,30}\b(?:right now|now|for the last|can'?t breathe|arm)\b",
            r"\bdolor (?:\w+ )?(?:en el|de|del) pecho\b.{0,40}\b(?:ahora|ya|no puede (?:respirar|hablar))\b",
            r"\b(?:est[aá]|estoy) (?:sangrando|convulsionando|inconsciente)\b.{0,40}\b(?:mucho|much[ií]simo|"
            r"ahora|ya|no para|r[aá]pido)\b",
            r"\b(?:est[aá] convulsionando|se (?:desplom[oó]|desvaneci[oó])|no (?:reacciona|responde|despierta))\b",
            r"\b(?:can'?t|cannot|can not) breathe\b(?!.{0,20}\b(?:lol|lmao|haha|laughing)\b)",
            r"\b(?:bleeding (?:heavily|a lot|everywhere|out)|won'?t stop bleeding|sangrando mucho)\b",
            r"\b(?:unresponsive|passed out|collapsed|se desmay[oó]|inconsciente|se cay[oó] y no)\b",
            r"\b(?:face|cara) (?:is )?droop\w*\b|\bslurr\w+ (?:his|her|their|my) (?:words|speech)\b",
            r"\bthroat (?:is )?(?:closing|swelling)\b|\bse le (?:cierra|est[aá] cerrando) la garganta\b",
            *phrases("urgent.emergency_now"),
        ),
        "medical emergency in progress",
        strong=True,
    ),
    Rule(
        "urgent.fire_or_accident",
        U,
        rx(
            r"\b(?:fire|smoke|incendio|humo|explosion|explosi[oó]n)\b.{0,40}\b(?:in|at|near|en) "
            r"(?:the |el |la )?(?:building|lobby|floor|wing|ward|hospital|parking|garage|er|piso|edificio)\b",
            r"\b(?:car|bus|ambulance|carro|auto)\b.{0,30}\b(?:crash(?:ed)?|hit|chocó|atropell\w+)\b.{0,40}\b(?:now|"
            r"just|ahora|trapped|atrapad\w+)\b",
            r"\bactive shooter\b|\bshots? fired\b|\bsomeone (?:has|with) a gun\b|\balguien (?:tiene|con) un arma\b",
            r"\b(?:waving|brandishing) (?:a|his|her|their) (?:gun|knife|pistol|rifle)\b|\bpointing a (?:gun|knife) at "
            r"(?:people|everyone|us|staff|patients|the nurses)\b",
        ),
        "fire, accident or attack with people at risk",
        strong=True,
    ),
    Rule(
        "urgent.specific_threat",
        U,
        rx(*SPECIFIC_THREAT),
        "threat with a target, place or time",
        strong=True,
    ),
    Rule(
        "urgent.call_for_help_now",
        U,
        rx(
            r"\b(?:help|ayuda)\b.{0,20}\b(?:right now|now|please|ya|urgente|por favor)\b.*\b(?:911|ambulance|ambulancia)\b",
            r"\b(?:someone|somebody|alguien) (?:call|llame|llamen) (?:911|an ambulance|una ambulancia)\b",
        ),
        "call for immediate help",
    ),
    Rule(
        "urgent.figure_of_speech",
        U,
        rx(
            r"\b(?:killing me|killed me|dying to|dying of laughter|i'?m dead\b|i'?m deceased|i'?m crying|"
            r"me muero de (?:risa|ganas|hambre)|me mor[ií] de risa|muerto de risa)",
            r"\b(?:lol|lmao|haha+|jaja+|😂|🤣|💀)",
            r"\b(?:awareness|prevention month|vigil|fundraiser|campaign|campa[ñn]a|prevenci[oó]n|988)\b",
            r"\b(?:last (?:year|month|week)|years? ago|back in \d{4}|el a[ñn]o pasado|hace \w+ a[ñn]os)\b",
            *phrases("urgent.figure_of_speech"),
        ),
        "figure of speech, awareness post or past event",
        polarity=-1,
    ),
)

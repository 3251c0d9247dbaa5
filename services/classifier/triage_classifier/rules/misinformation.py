"""False health claims asserted or pushed. Debunks, quotes refuted and good-faith questions argue against."""

from triage_events import Label

from triage_classifier.rules.base import Rule, rx
from triage_classifier.rules.lexicon import DEBUNK_MARKERS

M = Label.MISINFORMATION

RULES = (
    Rule(
        "misinfo.vaccine_harm_claim",
        M,
        rx(
            r"\b(?:vaccin\w*|vax\w*|jabs?|shots?|vacunas?|mrna)\b.{0,40}\b(?:causes?|caused|causan?|give|gives|"
            r"contain|contains|contienen?|full of|loaded with|are|is|son|change|alter|cambian?)\b.{0,30}"
            r"\b(?:autism|autismo|infertil\w*|sterili\w+|turbo cancer|cancer|c[aá]ncer|microchips?|chips|"
            r"mercury|mercurio|poison|veneno|toxins?|t[oó]xic\w*|dna|adn|magnet\w*|graphene|grafeno|sids|"
            r"death|muerte|shedding)\b",
            r"\b(?:unvaccinated|no vacunad\w+|natural immunity)\b.{0,30}\b(?:healthier|better|superior|m[aá]s "
            r"san\w+)\b",
        ),
        "asserts a vaccine harm myth",
    ),
    Rule(
        "misinfo.miracle_cure",
        M,
        rx(
            r"\b(?:turmeric|c[uú]rcuma|baking soda|bicarbonato|bleach|cloro|mms|chlorine dioxide|di[oó]xido de "
            r"cloro|ivermectin\w*|ivermectina|apricot (?:seeds?|kernels?)|b17|alkaline water|agua alcalina|"
            r"essential oils?|aceites? esenciales?|colloidal silver|plata coloidal|raw milk|leche cruda|"
            r"hydrogen peroxide|urine therapy|cinnamon|canela|garlic|ajo|lemon|lim[oó]n|fasting|ayuno|"
            r"cannabis oil|cbd|ozone|sungaz\w*|herbs?|hierbas?|juice cleanse|detox)\b.{0,60}\b(?:cures?|cured|"
            r"heals?|healed|reverses?|reversed|kills?|killed|eliminates?|dissolves?|shrinks?|shrank|shrunk|cura\w*|elimina\w*|"
            r"sana|instead of|en vez de|better than|mejor que|replaces?|no need)\b",
            r"\b(?:cures?|cured|cura)\b.{0,30}\b(?:cancer|c[aá]ncer|diabetes|autism|hiv|aids|tumou?rs?|"
            r"lymphoma|covid|alzheimer'?s)\b.{0,40}\b(?:naturally|at home|in (?:days|weeks)|en casa)\b",
        ),
        "promotes a miracle or suppressed cure",
    ),
    Rule(
        "misinfo.conspiracy",
        M,
        rx(
            r"\b(?:chemo\w*|quimio\w*|vaccines?|vacunas?|statins?|insulin|insulina|fluorid\w+|fl[uú]or|"
            r"antidepressants?|mammograms?|mamograf[ií]as?|masks?|mascarillas?|cubrebocas|sunscreen|"
            r"bloqueador)\b.{0,25}\b(?:is|are|es|son)\b.{0,15}\b(?:a |an |una? )?(?:scam|hoax|poison|veneno|"
            r"toxic|t[oó]xic\w*|neurotoxin|fraud|fraude|estafa|money grab|negocio|lie|mentira|useless|kills?|mata)\b",
            r"\bskip (?:the |your )?(?:chemo|radiation|vaccine|insulin|meds)\b",
            r"\bbig pharma\b.{0,40}\b(?:hides?|hiding|suppress\w*|doesn'?t want|won'?t tell|covers?)\b",
            r"\b(?:they|doctors|hospitals|los m[eé]dicos)\b.{0,20}\b(?:don'?t want you to know|hide the cure|"
            r"no quieren que sepas|esconden la cura)\b",
            r"\b(?:masks?|mascarillas?|cubrebocas)\b.{0,30}\b(?:co2|carbon dioxide|di[oó]xido de carbono|oxygen|"
            r"ox[ií]geno)\b",
            r"\bantibiotics?\b.{0,30}\b(?:for|cures?|treats?|curan?)\b.{0,15}\b(?:flu|cold|virus|viral|covid|gripe|"
            r"resfriado)\b",
        ),
        "asserts a conspiracy or a false claim about a treatment",
    ),
    Rule(
        "misinfo.refutation",
        M,
        rx(DEBUNK_MARKERS),
        "refutes, quotes to debunk or asks whether a claim is true",
        polarity=-1,
    ),
)

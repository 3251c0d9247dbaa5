"""Off-topic promotion, scams, phishing and engagement bait. Links to the health system's own pages are not."""

from triage_events import Label

from triage_classifier.rules.base import Rule, rx

S = Label.SPAM

RULES = (
    Rule(
        "spam.suspicious_link",
        S,
        rx(
            r"\b[\w-]+\.(?:top|xyz|click|win|loan|biz|ru|cn|tk|ml|ga|cf|gq|work|bid|buzz|shop|live|icu|vip|"
            r"cam|rest|monster|sbs|cfd)\b(?:/\S*)?",
            r"\b(?:bit\.ly|tinyurl\.com|t\.co|goo\.gl|cutt\.ly|rb\.gy|is\.gd|shorturl\.at|linktr\.ee)/\S+",
            r"\b(?:wa\.me|t\.me)/\S+",
        ),
        "a link on a domain typical of scams or a shortener",
        strong=True,
    ),
    Rule(
        "spam.money_scheme",
        S,
        rx(
            r"\b(?:crypto|bitcoin|btc|usdt|forex|binary options?|nft drop|trading (?:signals?|platform|account)|"
            r"investment (?:manager|platform|expert)|passive income|financial freedom|criptomonedas?|inversi[oó]n "
            r"segura)\b",
            r"\b(?:earn|make|made|gan[eéoa]r?)\s+\$?\d[\d,.]*k?\$?\s*(?:usd|dollars|d[oó]lares)?\s*(?:a|per|each|"
            r"al|por)?\s*(?:day|week|daily|weekly|d[ií]a|semana)\b",
            r"\b(?:work from home|trabaja desde casa)\b.{0,40}\b(?:\$|earn|gana)",
        ),
        "a money-making scheme",
        strong=True,
    ),
    Rule(
        "spam.contact_bait",
        S,
        rx(
            r"\b(?:dm|inbox|message|pm|whatsapp|telegram|escr[ií]beme|mensaje)\b.{0,15}\b(?:me|us|al|por)\b.{0,30}"
            r"\b(?:for (?:more|details|info|the secret)|to (?:learn|get|earn|claim|join)|para (?:m[aá]s|info|"
            r"ganar))\b",
            r"\bwhatsapp\s*:?\s*\+?\d[\d\s-]{7,}",
            r"\b(?:contact|reach|text)\s+(?:him|her|them|dr\.? \w+)\s+(?:on|via|at)\s+(?:whatsapp|telegram|"
            r"instagram|gmail)\b",
        ),
        "asks readers to move to a private channel for an offer",
        strong=True,
    ),
    Rule(
        "spam.engagement_bait",
        S,
        rx(
            r"\b(?:follow (?:for|4) follow|f4f|sub4sub|l4l|like for like|follow back|s[ií]gueme y te sigo)\b",
            r"\b(?:grow|gain|get|boost)\s+(?:your\s+)?(?:\d+k?\s+)?(?:real\s+)?(?:followers|likes|subscribers|"
            r"views)\b",
            r"\bcheck (?:out )?my (?:profile|page|channel|bio|story)\b",
        ),
        "engagement bait",
        strong=True,
    ),
    Rule(
        "spam.prize_or_phishing",
        S,
        rx(
            r"\b(?:you(?:'ve| have)? (?:won|been selected)|claim (?:your )?(?:prize|reward|gift)|free (?:iphone|"
            r"gift ?card|cruise|ps5|giveaway)|congratulations,? (?:you|winner)|ganaste|reclama tu premio)\b",
            r"\b(?:verify|confirm|unlock|recover) (?:your )?(?:account|page|password|identity)\b.{0,40}"
            r"(?:link|click|here|http)",
            r"\b(?:hack(?:er|ed)?|recover(?:y)? (?:expert|specialist|service))\b.{0,60}\b(?:account|instagram|"
            r"facebook|wallet|recover)\b",
        ),
        "a prize, phishing or account-recovery offer",
        strong=True,
    ),
    Rule(
        "spam.pharmacy_or_product",
        S,
        rx(
            r"\b(?:buy|order|compra|pide)\b.{0,40}\b(?:without (?:a )?prescription|no rx|sin receta)\b",
            r"\b(?:cheap|discount|barat[oa]s?)\s+(?:viagra|cialis|ozempic|xanax|oxy\w*|adderall|tramadol|"
            r"semaglutide)\b",
            r"\b(?:gummies|detox tea|keto pills|slimming|fat burner|t[eé] detox|pastillas para adelgazar)\b",
            r"\b(?:use|code|c[oó]digo)\s+(?:code\s+)?[A-Z0-9]{4,}\b.{0,20}\b(?:off|discount|descuento)\b",
        ),
        "an unrelated product or pharmacy offer",
    ),
)

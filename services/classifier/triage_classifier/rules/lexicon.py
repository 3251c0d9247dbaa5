"""Word lists shared by several rules (English and Spanish)."""

# Conditions, procedures and care settings: "health information" when tied to an identifier.
HEALTH_TERMS = (
    r"cancer|c[aá]ncer|tumou?r|chemo\w*|quimio\w*|radiation|lymphoma|leukemia|leucemia|diagnos\w+|"
    r"mastectomy|surgery|surgeries|cirug[ií]a|operad[oa]|operation|biopsy|biopsia|stroke|derrame|"
    r"heart attack|infarto|diabet\w+|hiv|vih|aids|hepatitis|std|sti|pregnan\w+|embarazad\w+|miscarriage|"
    r"aborto|abortion|overdose|sobredosis|rehab|detox\w*|psych\w*|psiqui\w+|bipolar|schizo\w+|depression|"
    r"depresi[oó]n|dementia|alzheimer'?s|dialysis|di[aá]lisis|icu|uci|nicu|er|emergency room|"
    r"emergencias|oncology|oncolog[ií]a|maternity|labor and delivery|covid|positive|positivo|"
    r"transplant|trasplante|amputat\w+|seizures?|epilep\w+|addiction|adicci[oó]n|ward|unit|admitted|"
    r"internad[oa]|hospitalizad[oa]|intubated|intubad[oa]|fracture|fractura|broken \w+|fibrosis|"
    r"sclerosis|esclerosis|autism|autismo|anorexia|bulimia|covid-19|chlamydia|gonorrhea|syphilis|herpes|"
    r"copd|epoc|pneumonia|neumon[ií]a|kidney failure|insuficiencia renal|colonoscop\w+|endoscop\w+|"
    r"mammogra\w+|mamograf[ií]a|pap smear|papanicolaou|mri|resonancia magn[eé]tica|ct scan|tomograf[ií]a|"
    r"ultrasound|ecograf[ií]a|prostate|pr[oó]stata"
)

# Words that turn a claim into a refutation or a question about it.
DEBUNK_MARKERS = (
    r"\bmyths?\b|\bmito\b|\bdebunk\w*|\bfalse\b|\bfalso\b|\bnot true\b|\bno es verdad\b|\bno evidence\b|"
    r"\bno hay evidencia\b|\bis it true\b|\bes verdad que\b|\bes cierto que\b|"
    r"\bdo(?:n'?t| not) (?:cause|contain)\b|\bno causan?\b|\bdisproven\b|\bmisinformation\b|\bfact[- ]check\w*|"
    r"\bstop spreading\b|\bpeople (?:keep )?say(?:ing)?\b|\bhoax\b.{0,20}\bnot\b"
)

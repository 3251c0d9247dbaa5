"""What the desk calls a comment's language: its English name and code, e.g. "Spanish (es)".

The reply templates' selector names each language in itself (`replies.catalogue.LANGUAGE_NAMES`); the flag
page says which language the comment is in, for staff who read English. The classifier identifies the
languages it covers and about fifty others (docs/model-languages.md); a code not listed here is shown as
the code alone.
"""

from __future__ import annotations

ENGLISH_NAMES = {
    "en": "English", "es": "Spanish", "vi": "Vietnamese", "ht": "Haitian Creole", "zh": "Chinese",
    "tl": "Tagalog", "ar": "Arabic", "fr": "French", "pt": "Portuguese", "ru": "Russian", "ko": "Korean",
    "de": "German", "it": "Italian", "pl": "Polish", "uk": "Ukrainian", "ja": "Japanese", "hi": "Hindi",
    "bn": "Bengali", "ur": "Urdu", "fa": "Persian", "tr": "Turkish", "el": "Greek", "he": "Hebrew",
    "am": "Amharic", "so": "Somali", "sw": "Swahili", "yo": "Yoruba", "pa": "Punjabi", "gu": "Gujarati",
    "ne": "Nepali", "km": "Khmer", "lo": "Lao", "th": "Thai", "my": "Burmese", "id": "Indonesian",
    "ms": "Malay", "ro": "Romanian", "hu": "Hungarian", "cs": "Czech", "nl": "Dutch", "sq": "Albanian",
    "hy": "Armenian", "ka": "Georgian", "und": "undetermined",
}  # fmt: skip


def language_label(code: str) -> str:
    """The language's English name and code ("Spanish (es)"), or the code alone when it has no name here."""
    name = ENGLISH_NAMES.get(code) or ENGLISH_NAMES.get(code.split("-")[0].lower())
    return f"{name} ({code})" if name else code

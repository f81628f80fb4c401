"""The translations available without Claude: a small phrasebook of common dating phrases.

Honest by construction: a text is translated only if it is one of these phrases (ignoring
case and punctuation); anything else gets no translation rather than a word-by-word guess.
"""

from __future__ import annotations

import re

__all__ = ["LANGUAGE_NAMES", "PHRASEBOOK_LANGUAGES", "lookup"]

ENGLISH = "en"
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
}

# English phrase -> language -> translation. Informal register, as in app chats.
_PHRASES: dict[str, dict[str, str]] = {
    "hello": {"es": "hola", "fr": "salut", "de": "hallo", "it": "ciao", "pt": "olá"},
    "how are you": {
        "es": "¿cómo estás?",
        "fr": "comment ça va ?",
        "de": "wie geht's dir?",
        "it": "come stai?",
        "pt": "como você está?",
    },
    "nice to meet you": {
        "es": "mucho gusto",
        "fr": "ravi de faire ta connaissance",
        "de": "freut mich, dich kennenzulernen",
        "it": "piacere di conoscerti",
        "pt": "prazer em te conhecer",
    },
    "good morning": {
        "es": "buenos días",
        "fr": "bonjour",
        "de": "guten Morgen",
        "it": "buongiorno",
        "pt": "bom dia",
    },
    "good night": {
        "es": "buenas noches",
        "fr": "bonne nuit",
        "de": "gute Nacht",
        "it": "buonanotte",
        "pt": "boa noite",
    },
    "thank you": {"es": "gracias", "fr": "merci", "de": "danke", "it": "grazie", "pt": "obrigado"},
    "see you soon": {
        "es": "hasta pronto",
        "fr": "à bientôt",
        "de": "bis bald",
        "it": "a presto",
        "pt": "até logo",
    },
    "what are you doing this weekend": {
        "es": "¿qué haces este fin de semana?",
        "fr": "tu fais quoi ce week-end ?",
        "de": "was machst du am Wochenende?",
        "it": "cosa fai questo fine settimana?",
        "pt": "o que você vai fazer neste fim de semana?",
    },
    "would you like to get a coffee": {
        "es": "¿te apetece tomar un café?",
        "fr": "ça te dirait d'aller boire un café ?",
        "de": "hast du Lust auf einen Kaffee?",
        "it": "ti va di prendere un caffè?",
        "pt": "você gostaria de tomar um café?",
    },
    "you have a beautiful smile": {
        "es": "tienes una sonrisa preciosa",
        "fr": "tu as un beau sourire",
        "de": "du hast ein schönes Lächeln",
        "it": "hai un bel sorriso",
        "pt": "você tem um sorriso lindo",
    },
}
PHRASEBOOK_LANGUAGES = frozenset(LANGUAGE_NAMES)
_NOT_LETTERS = re.compile(r"[^\w\s']", re.UNICODE)


def _key(text: str) -> str:
    return " ".join(_NOT_LETTERS.sub(" ", text.lower()).split())


# Every phrase in every language, to its English original: translates between any two.
_INDEX: dict[str, str] = {}
for _english, _translations in _PHRASES.items():
    _INDEX[_key(_english)] = _english
    for _translation in _translations.values():
        _INDEX.setdefault(_key(_translation), _english)


def lookup(text: str, target_language: str) -> str | None:
    """The phrasebook's translation of `text`, or None when it has none."""
    language = target_language.split("-")[0].lower()
    english = _INDEX.get(_key(text))
    if english is None or language not in PHRASEBOOK_LANGUAGES:
        return None
    return english if language == ENGLISH else _PHRASES[english][language]

"""What a message to the assistant is about: a deterministic keyword classifier.

Rules are tried in a fixed order, most important first: a message about harassment is a
safety question even if it also mentions a date, and a request for another person's data
is refused before anything else could answer it.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["DEFAULT_ACTIONS", "Intent", "SuggestedAction", "classify", "mentions_other_people"]


class Intent(StrEnum):
    GREETING = "greeting"
    PROFILE_TIPS = "profile_tips"
    CONVERSATION_STARTER = "conversation_starter"
    DATE_IDEAS = "date_ideas"
    SAFETY = "safety"
    TRANSLATE = "translate"
    ADVICE = "advice"
    MATCHES_HELP = "matches_help"
    # Asking for another user's data, the database, or the assistant's instructions.
    PRIVACY = "privacy"
    UNKNOWN = "unknown"


class SuggestedAction(StrEnum):
    """Screens or tools the app can open next; the assistant never performs them itself."""

    OPEN_PROFILE_EDITOR = "open_profile_editor"
    ADD_PHOTOS = "add_photos"
    VIEW_DAILY_MATCHES = "view_daily_matches"
    VIEW_RECOMMENDATIONS = "view_recommendations"
    REPORT_USER = "report_user"
    BLOCK_USER = "block_user"
    OPEN_SAFETY_TIPS = "open_safety_tips"
    TRANSLATE_MESSAGE = "translate_message"
    ASK_FOR_ADVICE = "ask_for_advice"
    GET_CONVERSATION_STARTERS = "get_conversation_starters"
    GET_DATE_IDEAS = "get_date_ideas"


A = SuggestedAction
DEFAULT_ACTIONS: dict[Intent, tuple[SuggestedAction, ...]] = {
    Intent.GREETING: (A.VIEW_DAILY_MATCHES, A.GET_CONVERSATION_STARTERS),
    Intent.PROFILE_TIPS: (A.OPEN_PROFILE_EDITOR, A.ADD_PHOTOS),
    Intent.CONVERSATION_STARTER: (A.VIEW_DAILY_MATCHES,),
    Intent.DATE_IDEAS: (A.VIEW_DAILY_MATCHES,),
    Intent.SAFETY: (A.REPORT_USER, A.BLOCK_USER, A.OPEN_SAFETY_TIPS),
    Intent.TRANSLATE: (A.TRANSLATE_MESSAGE,),
    Intent.ADVICE: (A.GET_CONVERSATION_STARTERS, A.GET_DATE_IDEAS),
    Intent.MATCHES_HELP: (A.VIEW_DAILY_MATCHES, A.VIEW_RECOMMENDATIONS, A.OPEN_PROFILE_EDITOR),
    Intent.PRIVACY: (A.VIEW_DAILY_MATCHES, A.OPEN_PROFILE_EDITOR),
    Intent.UNKNOWN: (A.GET_CONVERSATION_STARTERS, A.GET_DATE_IDEAS, A.OPEN_PROFILE_EDITOR),
}

_UUID = re.compile(
    r"(?<![0-9a-f])[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?![0-9a-f])"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_VERB = r"\b(show|give|tell|send|find|look ?up|reveal|list|dump|access|see|read|print|get)\b"
_PEOPLE = (
    r"\b(user|users|account|accounts|someone|somebody|other|another|their|his|her|people"
    r"|everyone|members?)\b"
)
_DATA = (
    r"\b(profiles?|data|emails?|phone|numbers?|address|location|messages?|passwords?|details"
    r"|info|information|bios?|names?|age)\b"
)
_ASKS_FOR_OTHERS = re.compile(
    rf"{_VERB}.{{0,60}}({_PEOPLE}.{{0,60}}{_DATA}|{_DATA}.{{0,60}}{_PEOPLE})"
)
# "Should I give her my number?" is about one's own data: a dating question, not a probe.
_OWN_DATA = re.compile(r"\bmy (phone|number|email|address|location|details|info|socials?)\b")
_PROBES = re.compile(
    r"\b(system prompt|your (instructions|prompt|rules)|database|all users|every user"
    r"|admin mode|developer mode)\b"
    r"|\b(select\b.{0,80}\bfrom|drop\s+table|union\s+select|insert\s+into|delete\s+from)\b"
    r"|'\s*or\s*'?1'?\s*=\s*'?1"
)


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(patterns) + r")")


_RULES: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    (
        Intent.SAFETY,
        _words(
            "harass",
            "threat",
            "unsafe",
            "scared",
            "afraid",
            "stalk",
            "scam",
            "blackmail",
            "abus",
            "assault",
            "creep",
            "catfish",
            "fake profile",
            "nudes?\\b",
            "explicit",
            "report",
            "block",
            "danger",
            "emergency",
            "violen",
            "pressur",
            "gift card",
            "crypto",
            "bitcoin",
            "followed me",
            "(ask|asks|asking|asked|wants?|needs?|send) (me )?(for )?(money|cash)",
        ),
    ),
    (Intent.PRIVACY, _PROBES),
    (
        Intent.TRANSLATE,
        _words(
            "translat",
            "how do (i|you) say",
            "what does .{1,60} mean",
            "in (spanish|french|german|italian|portuguese|english)\\b",
        ),
    ),
    (
        Intent.CONVERSATION_STARTER,
        _words(
            "ice ?breaker",
            "opener",
            "opening line",
            "first message",
            "start (a|the) conversation",
            "conversation starter",
            "what (should|do|can) i (say|text|write|message|ask)",
            "pick-?up line",
            "keep the conversation",
            "talk about",
        ),
    ),
    (
        Intent.DATE_IDEAS,
        _words(
            "date ideas?",
            "ideas? for (a|our|the) (first )?date",
            "where (should|can|to) (we|i) go",
            "date spot",
            "plan (a|the|our) date",
            "date night",
            "what to do on",
            "where to go",
        ),
    ),
    (
        Intent.PROFILE_TIPS,
        _words(
            "profile",
            "bio\\b",
            "photos?\\b",
            "pictures?\\b",
            "pics?\\b",
            "selfie",
            "about me",
            "improve my",
        ),
    ),
    (
        Intent.MATCHES_HELP,
        _words(
            "match",
            "daily",
            "recommendation",
            "no one likes",
            "nobody likes",
            "likes? me",
            "who (likes|liked)",
            "suggestions",
        ),
    ),
    (
        Intent.ADVICE,
        _words(
            "advice",
            "should i",
            "how (do|can|should) i",
            "nervous",
            "anxious",
            "ghost",
            "reject",
            "break ?up",
            "relationship",
            "second date",
            "first date",
            "text (him|her|them) back",
            "reply",
            "crush",
            "confiden",
            "lonely",
            "tips?\\b",
            "help me",
        ),
    ),
)
_GREETING = re.compile(
    r"^(hi|hello|hey|hiya|yo|howdy|good (morning|afternoon|evening)|thanks|thank you)\b"
)
# A greeting followed by a real question is that question, not small talk.
MAX_GREETING_WORDS = 6


def normalize(message: str) -> str:
    return " ".join(message.lower().split())


def mentions_other_people(message: str) -> bool:
    """Whether the message names an account: a user id or an email address."""
    text = message.lower()
    return bool(_UUID.search(text) or _EMAIL.search(text))


def _asks_for_others(text: str) -> bool:
    if mentions_other_people(text):
        return True
    return bool(_ASKS_FOR_OTHERS.search(text)) and not _OWN_DATA.search(text)


def classify(message: str) -> Intent:
    text = normalize(message)
    for intent, pattern in _RULES:
        if pattern.search(text) or (intent is Intent.PRIVACY and _asks_for_others(text)):
            return intent
    if _GREETING.match(text) and len(text.split()) <= MAX_GREETING_WORDS:
        return Intent.GREETING
    return Intent.UNKNOWN

"""The deterministic responder: canned, honest answers personalised with the caller's own
profile summary only. The same message and profile always give the same answer; where
there are variants, a hash of the message picks one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from eros.core.assistant.context import OwnContext
from eros.core.assistant.intents import DEFAULT_ACTIONS, Intent, SuggestedAction, normalize
from eros.core.assistant.replies import Reply, Source

__all__ = ["advice_text", "respond"]

GOOD_PHOTO_COUNT = 3
GOOD_BIO_CHARS = 80
GOOD_INTEREST_COUNT = 3
MAX_TIPS = 3
STARTERS_PER_REPLY = 2

OPENERS = (
    "Ask about something specific in their profile, a photo, a place or a line from "
    'their bio: "Where was that photo taken?" gets further than "hey".',
    'Try an either-or question, like "Mountains or the sea for a free weekend?": '
    "easy to answer, and it tells you something.",
    "Ask for a recommendation: a book, a song, a place to eat nearby. People like "
    "recommending things, and it can turn into a plan.",
    'Ask about the best part of their week so far, then share yours: "What was the '
    'highlight of your week?"',
)
DATE_IDEAS_BY_INTEREST = {
    "hik": "an easy morning hike that ends at a café",
    "walk": "a long walk through a park or along the water",
    "read": "browsing a bookshop together, then coffee to swap recommendations",
    "book": "browsing a bookshop together, then coffee to swap recommendations",
    "cook": "a food market, picking something to share",
    "food": "a food market, picking something to share",
    "music": "a small live concert or an open-mic night",
    "art": "a late opening at a gallery or museum",
    "film": "an indie or open-air cinema screening, with a drink after to talk about it",
    "movie": "an indie or open-air cinema screening, with a drink after to talk about it",
    "game": "a board-game café",
    "danc": "a beginner dance class",
    "sport": "a climbing gym or a round of mini golf",
    "fitness": "a climbing gym or a round of mini golf",
    "travel": "exploring a neighbourhood neither of you knows, on foot",
    "coffee": "a coffee tasting at a good roastery",
}
GENERIC_DATE_IDEAS = (
    "a walk and a coffee: short, public and easy to extend if it goes well",
    "a food market or a street-food stall you both want to try",
    "a museum or gallery, which gives you something to talk about",
)
FIRST_DATE_SAFETY = "For a first date, pick a public place and tell a friend where you'll be."

ADVICE_BY_TOPIC: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("ghost", "reject", "turned down", "unmatch", "ignored"),
        "Being ghosted or turned down hurts, but it says more about fit and timing than "
        "about your worth. One friendly message at most, then put your energy into "
        "conversations that go both ways.",
    ),
    (
        ("first date", "nervous", "anxious", "scared of"),
        "Nerves are normal. Pick a place you know, keep a first date short (an hour for a "
        "coffee or a walk), and bring two or three open questions. Be curious about them "
        "rather than trying to impress.",
    ),
    (
        ("text", "reply", "message", "chat", "respond"),
        "Match their pace, keep messages open-ended, and suggest meeting after a few good "
        "days of chatting rather than weeks of texting.",
    ),
    (
        ("second date", "relationship", "exclusive", "serious", "feelings"),
        "Say what you want plainly and kindly, and ask what they want. Clear, early "
        "conversations save both of you time and guesswork.",
    ),
    (
        ("break up", "breakup", "end it", "not interested"),
        "If it isn't working, tell them briefly and kindly, without a list of reasons: "
        '"I enjoyed meeting you, but I don\'t feel a match. I wish you the best."',
    ),
)
GENERAL_ADVICE = (
    "Be specific and genuine: ask about details in their profile, share a little about "
    "yourself, suggest a concrete plan when the conversation flows, and take a no kindly."
)

CAPABILITIES = (
    "conversation starters, date ideas, profile tips, dating advice, translations and safety"
)


def _pick(options: Sequence[str], message: str, count: int = 1) -> list[str]:
    """`count` distinct options chosen by the message's hash: stable across processes."""
    digest = hashlib.sha256(normalize(message).encode()).digest()
    start = int.from_bytes(digest[:4], "big") % len(options)
    return [options[(start + i) % len(options)] for i in range(min(count, len(options)))]


def _greeting(context: OwnContext) -> str:
    hello = f"Hi {context.display_name}!" if context.display_name else "Hi!"
    return f"{hello} I'm EROS, your dating assistant. I can help with {CAPABILITIES}."


def _profile_tips(context: OwnContext) -> str:
    if not context.loaded:
        return (
            "What helps most profiles: at least three clear photos, a bio of two or three "
            "sentences about what you enjoy and what you're looking for, and your top "
            "interests and values, which the matcher uses."
        )
    if not context.has_profile:
        return (
            "You haven't created a profile yet. Add photos, a short bio, your interests and "
            "your values: without them EROS has nothing to match you on."
        )
    tips = []
    if context.photo_count < GOOD_PHOTO_COUNT:
        missing = GOOD_PHOTO_COUNT - context.photo_count
        tips.append(
            f"Add {missing} more photo{'s' if missing > 1 else ''}; three clear ones work best."
        )
    if len(context.bio) < GOOD_BIO_CHARS:
        tips.append(
            f"Your bio is short ({len(context.bio)} characters). Two or three sentences about "
            "what you enjoy give people something to write to you about."
        )
    if context.value_count == 0:
        tips.append("Set your values: they weigh most in how EROS ranks your matches.")
    if context.interest_count < GOOD_INTEREST_COUNT:
        tips.append("Add a few more interests; shared interests are one of the matcher's signals.")
    if context.availability_windows == 0:
        tips.append("Add when you're usually free, so EROS can favour people with time in common.")
    if not tips:
        return (
            "Your profile looks complete. Refresh a photo or a line of your bio now and then; "
            "a recent change gives people a new reason to start a conversation."
        )
    return " ".join(tips[:MAX_TIPS])


def _conversation_starters(message: str, context: OwnContext) -> str:
    parts = []
    if context.top_interests:
        interest = _pick(context.top_interests, message)[0]
        parts.append(
            f'If they share your interest in {interest}, ask about it: "What got you into '
            f'{interest}?"'
        )
    parts.extend(_pick(OPENERS, message, STARTERS_PER_REPLY - len(parts)))
    return " ".join(parts)


def _date_ideas(message: str, context: OwnContext) -> str:
    ideas: list[str] = []
    for interest in context.top_interests:
        for stem, idea in DATE_IDEAS_BY_INTEREST.items():
            if stem in interest and idea not in ideas:
                ideas.append(idea)
    for idea in _pick(GENERIC_DATE_IDEAS, message, 2):
        if len(ideas) < 3 and idea not in ideas:
            ideas.append(idea)
    where = f" in {context.city}" if context.city else ""
    return f"Some ideas{where}: {'; '.join(ideas[:3])}. {FIRST_DATE_SAFETY}"


def advice_text(topic: str, context: OwnContext) -> str:
    text = normalize(topic)
    advice = next(
        (answer for keys, answer in ADVICE_BY_TOPIC if any(k in text for k in keys)),
        GENERAL_ADVICE,
    )
    if context.conversation_depth == "deep":
        advice += (
            " You like deep conversations: a question about what someone cares about opens them."
        )
    return advice


def _matches_help(context: OwnContext) -> str:
    text = (
        "EROS prepares your daily matches while you're away from the app, so they're ready "
        "when you come back, each with the reasons it was picked. Likes and skips teach it "
        "your taste, and a complete profile gives it more to work with."
    )
    if context.loaded and not context.has_profile:
        text += " Create your profile first: without one there is nothing to match on."
    return text


SAFETY_TEXT = (
    "Your safety comes first. If someone harasses or threatens you, pressures you, or asks "
    "for money, report and block them from their profile or your chat: they won't see you "
    "again. Never send money or financial details to someone you haven't met. If you are in "
    "danger now, contact local emergency services."
)
PRIVACY_TEXT = (
    "I can only use your own profile to help you. I can't look up other people, accounts, "
    "emails or messages, and I never share anyone's information. To get to know someone, "
    "read their profile in the app or ask them; if someone worries you, you can report or "
    "block them."
)
TRANSLATE_TEXT = (
    "I can translate messages for you: use the translate option with the text and the "
    "language you need."
)
UNKNOWN_TEXT = (
    f"I'm not sure I understood. I can help with {CAPABILITIES}. Try, for example, "
    '"give me a conversation starter".'
)


def respond(message: str, intent: Intent, context: OwnContext) -> Reply:
    if intent is Intent.GREETING:
        text = _greeting(context)
    elif intent is Intent.PROFILE_TIPS:
        text = _profile_tips(context)
    elif intent is Intent.CONVERSATION_STARTER:
        text = _conversation_starters(message, context)
    elif intent is Intent.DATE_IDEAS:
        text = _date_ideas(message, context)
    elif intent is Intent.ADVICE:
        text = advice_text(message, context)
    elif intent is Intent.MATCHES_HELP:
        text = _matches_help(context)
    elif intent is Intent.SAFETY:
        text = SAFETY_TEXT
    elif intent is Intent.PRIVACY:
        text = PRIVACY_TEXT
    elif intent is Intent.TRANSLATE:
        text = TRANSLATE_TEXT
    else:
        text = UNKNOWN_TEXT
    actions: tuple[SuggestedAction, ...] = DEFAULT_ACTIONS[intent]
    if intent is Intent.PROFILE_TIPS and context.loaded and not context.has_profile:
        actions = (SuggestedAction.OPEN_PROFILE_EDITOR,)
    return Reply(text=text, intent=intent, actions=actions, source=Source.RULES)

"""The source documents' route list, quoted: the contract a frontend written against
them relies on (../shared/seeds/001_bd761476b68f1c1f.txt, "API Routes", and the
scheduler status route of 000_cf13b1b88f7297d2.txt). `tests/api/test_contract.py` parses
it into one contract test per route."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Verbatim from 001_bd761476b68f1c1f.txt, from "### Authentication" to the end of the list.
SOURCE_ROUTES = """\

### Authentication
```
POST /api/v1/auth/register
  Body: { email, password, name }
  Returns: { success, userId, token, refreshToken }

POST /api/v1/auth/login
  Body: { email, password }
  Returns: { success, userId, token, refreshToken }

POST /api/v1/auth/refresh
  Body: { refreshToken }
  Returns: { success, token }

POST /api/v1/auth/logout
  Returns: { success, message }
```

### Profiles
```
GET /api/v1/users/profile
  Returns: { success, profile }

PUT /api/v1/users/profile
  Body: { name, bio, photos, age, location, interests, preferences }
  Returns: { success, profile }

GET /api/v1/users/:userId/profile
  Returns: { success, profile } [public fields only]
```

### Matches
```
GET /api/v1/matches/daily
  Returns: { success, matches, source, date }

GET /api/v1/matches/daily/:date
  Returns: { success, matches, count, date }

GET /api/v1/matches/recommendations?limit=10
  Returns: { success, recommendations, count }

POST /api/v1/matches/:matchId/action
  Body: { action: 'like'|'skip'|'view'|'report' }
  Returns: { success, message }
```

### Activity & Health
```
POST /api/v1/heartbeat
  Body: { userId?, appActive, screenOn }
  Returns: { success, idleTime, processingPhase, timestamp }

GET /api/v1/activity/status
  Returns: { userId, lastInteraction, idleTime, processingPhase, sessionDuration }

GET /api/v1/activity/stats (admin)
  Returns: { success, stats }

GET /api/v1/health
  Returns: { status, uptime, components, metrics }

GET /api/v1/health/detailed
  Returns: { status, uptime, components, metrics, cache, scheduler }
```

### Assistant (Real-Time, Lightweight)
```
POST /api/v1/assistant/chat
  Body: { message, conversationId? }
  Returns: { success, conversationId, response, intent, suggestedActions }

POST /api/v1/assistant/ask
  Body: { question }
  Returns: { success, question, answer }

POST /api/v1/assistant/translate
  Body: { text, targetLanguage }
  Returns: { success, original, translated, targetLanguage }

POST /api/v1/assistant/advice
  Body: { topic, context? }
  Returns: { success, topic, advice }

GET /api/v1/assistant/conversations/:conversationId
  Returns: { success, conversationId, messages, source }
```
"""

# 000_cf13b1b88f7297d2.txt adds these two, without a body or fields.
EXTRA_ROUTES = """\
GET /api/v1/eros/status
GET /health
"""

ROUTE_LINE = re.compile(r"^(GET|POST|PUT|DELETE) (/\S+)")
PATH_PARAMETER = re.compile(r":(\w+)")


@dataclass(frozen=True, slots=True)
class DocumentedRoute:
    method: str
    path: str  # with the documents' `:name` parameters turned into `{name}`
    body: frozenset[str]
    optional: frozenset[str]
    returns: frozenset[str]
    values: dict[str, tuple[str, ...]]  # fields whose documented values are listed

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def __str__(self) -> str:
        return self.key


def _fields(braced: str) -> list[str]:
    inner = braced[braced.index("{") + 1 : braced.rindex("}")]
    return [f.strip() for f in inner.split(",") if f.strip()]


def _route(method: str, path: str, body: list[str], returns: list[str]) -> DocumentedRoute:
    names: set[str] = set()
    optional: set[str] = set()
    values: dict[str, tuple[str, ...]] = {}
    for field in body:
        name, _, listed = field.partition(":")
        name = name.strip()
        if name.endswith("?"):
            name = name[:-1]
            optional.add(name)
        if listed:
            values[name] = tuple(v.strip(" '") for v in listed.split("|"))
        names.add(name)
    return DocumentedRoute(
        method=method,
        path=PATH_PARAMETER.sub(r"{\1}", path.split("?")[0]),
        body=frozenset(names),
        optional=frozenset(optional),
        returns=frozenset(returns),
        values=values,
    )


def parse_routes(text: str) -> list[DocumentedRoute]:
    """Each route line with the `Body:` and `Returns:` lines under it."""
    blocks: list[tuple[str, str, dict[str, list[str]]]] = []
    for line in text.splitlines():
        match = ROUTE_LINE.match(line)
        label = line.strip().split(":", 1)[0]
        if match:
            blocks.append((match[1], match[2], {"Body": [], "Returns": []}))
        elif blocks and label in ("Body", "Returns"):
            blocks[-1][2][label] = _fields(line)
    return [_route(m, p, lists["Body"], lists["Returns"]) for m, p, lists in blocks]


DOCUMENTED_ROUTES = parse_routes(SOURCE_ROUTES + EXTRA_ROUTES)

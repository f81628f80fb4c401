"""Map a request path to its route template (`/api/v1/users/{user_id}/profile`).

Metrics are labelled by template to keep their cardinality bounded. The templates come
from the OpenAPI document, which holds every route's full path whatever the FastAPI
version's internal router nesting.
"""

from __future__ import annotations

import re
from typing import Any

UNMATCHED = "<unmatched>"
_PARAM = re.compile(r"\{[^}/]+\}")


class RouteTemplates:
    def __init__(self, templates: list[str]) -> None:
        self._static = {t: t for t in templates if "{" not in t}
        self._dynamic = [
            (re.compile("^" + "[^/]+".join(map(re.escape, _PARAM.split(t))) + "$"), t)
            for t in templates
            if "{" in t
        ]

    @classmethod
    def from_app(cls, app: Any) -> RouteTemplates:
        return cls(list(app.openapi().get("paths", {})))

    def match(self, path: str) -> str:
        found = self._static.get(path)
        if found is not None:
            return found
        for pattern, template in self._dynamic:
            if pattern.match(path):
                return template
        return UNMATCHED

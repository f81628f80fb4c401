"""Map a request path to its route template (`/api/v1/users/{user_id}/profile`).

Metrics are labelled by template to keep their cardinality bounded. The app factory
lists the templates from the routers it includes, since how FastAPI records the matched
route in the request scope differs between its versions.
"""

from __future__ import annotations

import re

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

    def match(self, path: str) -> str:
        found = self._static.get(path)
        if found is not None:
            return found
        for pattern, template in self._dynamic:
            if pattern.match(path):
                return template
        return UNMATCHED

from __future__ import annotations

from fastapi.testclient import TestClient

from eros.api.app import API_PREFIX


def test_every_api_operation_documents_its_422(client: TestClient) -> None:
    # Validation and business rules answer 422 on every route; clients generated from the
    # document must know that answer and its one error shape.
    paths = client.get("/openapi.json").json()["paths"]
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        if path.startswith(API_PREFIX)
        for method, operation in operations.items()
        if "422" not in operation.get("responses", {})
        or "ErrorBody" not in str(operation["responses"]["422"])
    ]
    assert undocumented == []

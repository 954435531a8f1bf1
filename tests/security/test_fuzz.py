"""Property-based fuzzing of every operation of our OpenAPI document with schemathesis, against a
real `statuspage api` process with a valid key and page: no 5xx, every response conforming to
the document, every 4xx in our error shape. A bounded number of examples per operation here;
`bench/fuzz.py` runs the same checks longer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.conftest import Servers, truncate_everything
from tests.processes import ApiProcess, run_statuspage

EXAMPLES = int(os.environ.get("STATUSPAGE_FUZZ_EXAMPLES", "6"))

schema = schemathesis.openapi.from_dict(create_app().openapi())


@dataclass(frozen=True)
class Target:
    base_url: str
    page_id: str
    organization_id: str
    headers: dict[str, str]
    session: requests.Session


@pytest.fixture(scope="module")
def target(servers: Servers) -> Iterator[Target]:
    env = servers.env(STATUSPAGE_RATE_LIMIT_PER_MINUTE="0", STATUSPAGE_OUTBOUND_ALLOW_PRIVATE="1")
    made = run_statuspage(["bootstrap", "--organization", "Fuzz", "--page", "Fuzz", "--json"], env)
    tenant: dict[str, Any] = json.loads(made.stdout)
    with ApiProcess.start(env) as api, requests.Session() as session:
        yield Target(
            base_url=api.base_url,
            page_id=tenant["page_id"],
            organization_id=tenant["organization_id"],
            headers={"Authorization": f"OAuth {tenant['api_key']}"},
            session=session,
        )
    truncate_everything(servers)


def our_error_shape(ctx: Any, response: Any, case: Case[Any]) -> bool | None:
    if 400 <= response.status_code < 500 and response.status_code != 304:
        body = response.json()
        assert isinstance(body, dict) and {"message", "error"} <= set(body), (
            f"{case.method} {case.path}: {response.status_code} body not in our error shape: "
            f"{response.text[:300]}"
        )
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
def test_every_operation_survives_generated_input(case: Case[Any], target: Target) -> None:
    if case.path.endswith("/stream") and case.method.upper() == "GET":
        pytest.skip("an endless event stream; tests/public covers it")
    if case.path_parameters is not None:
        if "page_id" in case.path_parameters:
            case.path_parameters["page_id"] = target.page_id
        if "organization_id" in case.path_parameters:
            case.path_parameters["organization_id"] = target.organization_id
    headers = {**target.headers, **dict(case.headers or {})}
    response = case.call(base_url=target.base_url, session=target.session, headers=headers)
    our_error_shape(None, response, case)
    case.validate_response(response, checks=CHECKS)

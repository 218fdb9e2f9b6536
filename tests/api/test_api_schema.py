"""The API against its own OpenAPI document, with schemathesis, on SQLite and PostgreSQL.

Requests generated from the document (valid and, where schemathesis negates it, invalid) by a
caller holding every role: no answer may be a server error, and every answer must be one the
document declares, with its declared content type and schema. Bounded: a few examples per
operation, so it runs in CI.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from api_support import Api
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from quaywatch.domain.access import Role

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


@pytest.mark.slow  # about a minute per backend
def test_no_server_error_and_no_schema_violation(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    everyone = api.as_roles(*Role, terminals=("BEANRDP",))
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: Any) -> None:
            case.call_and_validate(headers=everyone, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # every operation is tried; all failures are reported
            # A flaky failure is a group: name what the first call saw, so that it can be
            # found (seen twice under load on PostgreSQL, POST /api/v1/consignments).
            seen = "".join(f"\n  {e!r}" for e in getattr(exc, "exceptions", ()))
            failures.append(f"{operation.label}: {exc}{seen}")
    assert not failures, "\n\n".join(failures)

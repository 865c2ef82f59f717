"""The OpenAPI document is true, and no request breaks the API: schemathesis generates requests for every
operation of /api/v1 (valid ones, and invalid ones), sends them in-process with an organiser's token,
and validates each answer against the document: no 5xx, only documented statuses and media types,
bodies that match their schemas. Seeded, so every run sends the same requests; bounded by
EVENTS_FUZZ_CASES (default 1,000)."""

from __future__ import annotations

import os
from itertools import zip_longest

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)
from schemathesis.generation.modes import GenerationMode

from events_app.core.models import Question
from events_app.seats import registration
from events_app.seats.registration import Applicant
from events_app.web.openapi import OPENAPI
from tests.helpers import make_event, make_user

FUZZ_CASES = int(os.environ.get("EVENTS_FUZZ_CASES", "1000"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Downloads whose rendering would dominate the run (PDF layout); their answers are checked elsewhere.
SLOW = {("GET", "/api/v1/events/{event_id}/certificates.pdf"), ("GET", "/api/v1/events/{event_id}/certificates.zip"),
        ("GET", "/api/v1/events/{event_id}/letters.pdf"), ("GET", "/api/v1/events/{event_id}/export.pdf")}


def generated_cases(total: int, known: dict | None = None) -> list:
    """`total` requests spread evenly over the operations: a third valid with the path pointing at things
    that exist (`known`: path parameter -> value), a third valid, a third invalid."""
    schema = schemathesis.openapi.from_dict(OPENAPI)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in SLOW]
    per_operation_cases: list[list] = []
    per_operation = max(1, -(-total * 6 // 5) // len(operations))  # a fifth more: some yield fewer
    for index, operation in enumerate(operations):
        cases: list = []
        in_path = {name: value for name, value in (known or {}).items() if "{" + name + "}" in operation.path}
        variants = [(GenerationMode.POSITIVE, in_path), (GenerationMode.POSITIVE, None),
                    (GenerationMode.NEGATIVE, None)]
        for mode, path_parameters in variants:
            wanted = max(1, per_operation // 3)
            found: list = []

            @seed(20261205 + index)
            @settings(max_examples=wanted, database=None, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None))
            def collect(case):
                found.append(case)

            try:
                collect()
            except Exception:  # an operation without invalid variants (nothing to negate)
                pass
            cases.extend(found[:wanted])
        per_operation_cases.append(cases)
    # round robin, so cutting at `total` leaves every operation its share
    mixed = [case for group in zip_longest(*per_operation_cases) for case in group if case is not None]
    return mixed[:total]


async def test_generated_requests_get_documented_answers(client, db):
    user, token = await make_user("organiser")
    # something to find: events with ids 1..3 (one with a question and a registration)
    event = await make_event(capacity=2)
    await make_event(kind="course", audience="women", location_confidential=True)
    await make_event(audience="invitation", kind="reception")
    await Question.create(event_id=event.id, key="note", label="Hinweis", kind="text", required=False, position=0)
    person = (await registration.register(event_id=event.id, applicant=Applicant(name="Erika", email="e@example.org"))
              ).registration
    cases = generated_cases(FUZZ_CASES, {"event_id": event.id, "registration_id": person.id,
                                         "token": person.manage_token})
    assert len(cases) == FUZZ_CASES, len(cases)
    failures = []
    statuses: dict[int, int] = {}
    for case in cases:
        kwargs = case.as_transport_kwargs(base_url="http://testserver",
                                          headers={"Authorization": f"Bearer {token}"})
        kwargs.pop("cookies", None)
        response = await client.request(**kwargs)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # collect every failure, report them together
            failures.append(f"{kwargs['method']} {kwargs['url']} -> {response.status_code}: {str(exc)[:400]}")
    print(f"{len(cases)} generated requests, answers by status: {dict(sorted(statuses.items()))}")
    assert not failures, "\n".join(failures[:20])
    assert not any(status >= 500 for status in statuses)
    assert any(200 <= status < 300 for status in statuses)

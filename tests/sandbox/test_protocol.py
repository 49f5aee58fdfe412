"""``sandbox._session.parse_message``: the agent's replies are parsed strictly, as data."""

from __future__ import annotations

import pytest

from sandbox import AgentError
from sandbox._session import parse_message


@pytest.mark.parametrize(("line", "expected"), [
    (b'{"id": 1, "result": null}', {"id": 1, "result": None}),
    (b'{"id": 2, "result": [1, 2.5, "x", {"k": true}]}',
     {"id": 2, "result": [1, 2.5, "x", {"k": True}]}),
    (b'{"id": 3, "error": {"type": "ValueError", "message": "m", "traceback": "t"}}',
     {"id": 3, "error": {"type": "ValueError", "message": "m", "traceback": "t"}}),
    ('{"id": 4, "result": "caf\u00e9"}'.encode(), {"id": 4, "result": "caf\u00e9"}),
    (b'{"id": 5, "result": 1e308}', {"id": 5, "result": 1e308}),
])
def test_valid_replies_parse(line: bytes, expected: dict) -> None:
    assert parse_message(line) == expected


@pytest.mark.parametrize("line", [
    pytest.param(b'{"id": 1, "result": NaN}', id="nan"),
    pytest.param(b'{"id": 1, "result": Infinity}', id="infinity"),
    pytest.param(b'{"id": 1, "result": -Infinity}', id="minus-infinity"),
    pytest.param(b'{"id": 1, "result": [1, NaN]}', id="nested-nan"),
    pytest.param(b'{"id": 1, "id": 2, "result": 3}', id="duplicate-top-level-key"),
    pytest.param(b'{"id": 1, "result": {"a": 1, "a": 2}}', id="duplicate-nested-key"),
    pytest.param(b'[{"id": 1, "result": 1}]', id="array"),
    pytest.param(b'"{\\"id\\": 1, \\"result\\": 1}"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"null", id="null"),
    pytest.param(b'{"id": 1, "result": 1, "extra": 2}', id="extra-key"),
    pytest.param(b'{"id": 1, "result": 1, "error": {}}', id="result-and-error"),
    pytest.param(b'{"result": 1}', id="no-id"),
    pytest.param(b'{"id": 1}', id="neither-result-nor-error"),
    pytest.param(b"", id="empty"),
    pytest.param(b'{"id": 1, "result": 1', id="truncated"),
    pytest.param(b'{"id": 1, "result": 1}{"id": 2, "result": 2}', id="two-objects"),
    pytest.param(b'{"id": 1, "result": "\xff"}', id="invalid-utf-8"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-nesting"),
])
def test_malformed_replies_are_agent_errors(line: bytes) -> None:
    with pytest.raises(AgentError):
        parse_message(line)

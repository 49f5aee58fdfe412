"""API tokens for machines: what a token may do (its scopes) and what one looks like.

A reviewer makes a token for a script or an applicant tracking system so that it need not hold
the reviewer's password nor do the login and CSRF dance. The token is a high-entropy secret shown
once when it is made; the store keeps only its sha256 (``grader.store._tokens``) and its first
characters (``prefix``), which are not secret and tell tokens apart in a list. A token is sent as
``Authorization: Bearer <token>`` to the reviewer JSON API, or as the HTTP Basic username to an
applicant tracking system's door (``grader.integrations``).

Scopes: a token holds one or more, a route needs exactly one (named in the OpenAPI document);
``SCOPE_DESCRIPTIONS`` says what each opens (the CLI's help, the tokens page and
docs/integrations.md show it).

Tokens never make or revoke tokens, nor log out: those take a reviewer's session login. An
``integration:`` scope stands alone: a key handed to an applicant tracking system opens its door
and nothing else (Greenhouse's key is even kept in clear, to send back with its callback).

This module imports only the standard library: the CLI's ``--help`` lists the scopes.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

TOKEN_PREFIX = "grt_"
# What is kept for display: "grt_" and 8 characters of the secret's 43 (256 bits of entropy;
# the 48 bits shown leave 208 unknown).
DISPLAY_CHARS = 12


class Scope(StrEnum):
    READ = "read"
    INVITE = "invite"
    REVIEW = "review"
    WEBHOOKS = "webhooks"
    GREENHOUSE = "integration:greenhouse"
    ASHBY = "integration:ashby"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.READ: "every GET of the reviewer API but the webhooks' (assignments, submissions, "
                "reports, files, exports, results.json, invites, judgement, similarity)",
    Scope.INVITE: "create and extend invites",
    Scope.REVIEW: "manual scores, reveal, notes, decisions and re-grades",
    # Where the grader sends data is not a report reader's business: reads need this scope too.
    Scope.WEBHOOKS: "webhook endpoints and their deliveries, reads included",
    Scope.GREENHOUSE: "Greenhouse's assessment-partner calls (/api/integrations/greenhouse)",
    Scope.ASHBY: "Ashby's assessment-partner calls (/api/integrations/ashby)",
}


def parse_scopes(values: list[str] | tuple[str, ...]) -> frozenset[Scope]:
    """The scopes named (each value may hold several, separated by spaces or commas); a
    ValueError naming the unknown ones and the valid ones otherwise."""
    names = [part for value in values for part in value.replace(",", " ").split()]
    unknown = sorted(set(names) - {scope.value for scope in Scope})
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; the scopes are "
                         f"{', '.join(scope.value for scope in Scope)}")
    chosen = frozenset(Scope(name) for name in names)
    check_scopes(chosen)
    return chosen


def check_scopes(scopes: frozenset[Scope] | set[Scope]) -> None:
    """A ValueError when no scope is given, or an ATS's scope is combined with any other."""
    if not scopes:
        raise ValueError("a token needs at least one scope: "
                         f"{', '.join(scope.value for scope in Scope)}")
    integrations = sorted(scope.value for scope in scopes if scope.value.startswith("integration:"))
    if integrations and len(scopes) > 1:
        others = sorted(scope.value for scope in scopes if scope.value != integrations[0])
        raise ValueError(
            f"{integrations[0]} stands alone: a key for an applicant tracking system opens its "
            f"door and nothing else, yet this one would also hold {', '.join(others)}; make one "
            "token per ATS, and another for the rest")


def new_secret() -> str:
    """A fresh token: the prefix marks it as the grader's (secret scanners can match it)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[:DISPLAY_CHARS]

"""Secrets, signed cookies and CSRF tokens.

- Reviewer sessions: the cookie holds a random token signed with the deployment's secret
  (HttpOnly, SameSite=Lax, Secure when configured); the store keeps only the token's sha256 and
  the session's CSRF token, which every reviewer form and state-changing API call must carry.
- The login form, before any session exists: a signed double-submit cookie.
- The candidate's upload form: an HMAC of the invite token, so it needs no cookie at all.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from itsdangerous import BadSignature, Signer

from grader.settings import Settings

SESSION_COOKIE = "grader_session"
LOGIN_CSRF_COOKIE = "grader_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SECRET_FILE = "session_secret"


def load_secret(settings: Settings) -> bytes:
    """The configured secret, else one kept in the data directory (made once, mode 0600)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    path = settings.data_dir / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with open(descriptor, "w") as out:
        out.write(secrets.token_urlsafe(48))
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    secret = path.read_text().strip().encode()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds too short a secret; remove it to make a new one")
    return secret


class Signing:
    """Everything signed with the deployment's secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._session = Signer(secret, salt="grader.reviewer-session")
        self._login = Signer(secret, salt="grader.login-csrf")

    def sign_session(self, token: str) -> str:
        return self._session.sign(token).decode()

    def unsign_session(self, cookie: str | None) -> str | None:
        return _unsign(self._session, cookie)

    def new_login_csrf(self) -> tuple[str, str]:
        """(form value, cookie value) for the login form."""
        value = secrets.token_urlsafe(24)
        return value, self._login.sign(value).decode()

    def login_csrf_ok(self, cookie: str | None, submitted: str | None) -> bool:
        expected = _unsign(self._login, cookie)
        return bool(expected and submitted) and hmac.compare_digest(expected or "", submitted or "")

    def candidate_csrf(self, invite_token: str) -> str:
        return hmac.new(self._secret, b"candidate-upload\0" + invite_token.encode(),
                        hashlib.sha256).hexdigest()

    def candidate_csrf_ok(self, invite_token: str, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.candidate_csrf(invite_token),
                                                       submitted or "")


def _unsign(signer: Signer, value: str | None) -> str | None:
    if not value or len(value) > 512:
        return None
    try:
        return signer.unsign(value).decode()
    except BadSignature:
        return None


def tokens_match(expected: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(expected, submitted or "")

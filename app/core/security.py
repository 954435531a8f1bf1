"""API keys: 256 random bits shown once, stored as SHA-256, read from three places on a request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from starlette.requests import Request

ROLE_WRITE = "write"
ROLE_READ = "read"
ROLES = (ROLE_WRITE, ROLE_READ)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def generate_api_key() -> str:
    # 64 hex characters, the shape of Atlassian's own keys.
    return secrets.token_hex(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def extract_api_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        return key_of_authorization(header)
    key = request.query_params.get("api_key")
    return key or None


def key_of_authorization(header: str) -> str | None:
    """The key of an `Authorization: OAuth <key>` (or Bearer) header."""
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() in ("oauth", "bearer") and credentials.strip():
        return credentials.strip()
    return None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API key of one organization, with a role, and perhaps tied to a user
    (whose permissions on each page then apply too)."""

    api_key_id: str
    organization_id: str
    role: str
    user_id: str | None = None

    @property
    def can_write(self) -> bool:
        return self.role == ROLE_WRITE

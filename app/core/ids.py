"""Statuspage-style identifiers: 12 lowercase base-36 characters."""

from __future__ import annotations

import re
import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 12
ID_PATTERN = re.compile(r"^[0-9a-z]{12}$")


def new_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))


def is_id(value: str) -> bool:
    return ID_PATTERN.fullmatch(value) is not None

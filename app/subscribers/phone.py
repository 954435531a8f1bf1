"""Phone numbers of SMS subscribers: validated, stored as national digits, displayed like
Statuspage's `display_phone_number` ("+1 (202) 555-0105")."""

from __future__ import annotations

import re
from dataclasses import dataclass

# ISO 3166 alpha-2 -> country calling code, for the countries SMS subscribers commonly come from.
CALLING_CODES: dict[str, str] = {
    "US": "1", "CA": "1", "PR": "1", "GB": "44", "IE": "353", "FR": "33", "DE": "49",
    "NL": "31", "BE": "32", "LU": "352", "CH": "41", "AT": "43", "IT": "39", "ES": "34",
    "PT": "351", "DK": "45", "SE": "46", "NO": "47", "FI": "358", "IS": "354", "PL": "48",
    "CZ": "420", "SK": "421", "HU": "36", "RO": "40", "BG": "359", "GR": "30", "HR": "385",
    "SI": "386", "EE": "372", "LV": "371", "LT": "370", "UA": "380", "TR": "90", "IL": "972",
    "AE": "971", "SA": "966", "EG": "20", "ZA": "27", "NG": "234", "KE": "254", "MA": "212",
    "IN": "91", "PK": "92", "BD": "880", "LK": "94", "CN": "86", "HK": "852", "TW": "886",
    "JP": "81", "KR": "82", "SG": "65", "MY": "60", "TH": "66", "VN": "84", "PH": "63",
    "ID": "62", "AU": "61", "NZ": "64", "MX": "52", "BR": "55", "AR": "54", "CL": "56",
    "CO": "57", "PE": "51", "UY": "598",
}  # fmt: skip
_NANP = "1"
_SEPARATORS = re.compile(r"[\s\-.()/]")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
MIN_DIGITS = 4
MAX_DIGITS = 15


@dataclass(frozen=True, slots=True)
class Phone:
    number: str  # national significant digits, as dialled in the country without its trunk 0
    country: str  # ISO 3166 alpha-2, upper case
    display: str


def parse_phone(number: str, country: str | None) -> Phone:
    """Validate and normalize; ValueError with a message naming the problem."""
    country = (country or "US").strip()
    if not _COUNTRY.match(country):
        raise ValueError("phone_country must be a two-letter country code")
    country = country.upper()
    text = _SEPARATORS.sub("", number.strip())
    international = text.startswith(("+", "00"))
    digits = text[1:] if text.startswith("+") else text[2:] if text.startswith("00") else text
    if not digits.isdigit() or not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise ValueError(
            f"phone_number must have {MIN_DIGITS} to {MAX_DIGITS} digits "
            "(spaces, dashes, dots and parentheses are ignored)"
        )
    code = CALLING_CODES.get(country)
    if international:
        if code is None or not digits.startswith(code):
            raise ValueError(f"phone_number is written with a country code that is not {country}'s")
        digits = digits[len(code) :]
    if code == _NANP:
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        if len(digits) != 10:
            raise ValueError(f"phone_number must have 10 digits in {country}")
        display = f"+1 ({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        return Phone(digits, country, display)
    if code is not None and country != "IT":
        # The trunk prefix is not dialled from abroad (Italy keeps its leading 0).
        digits = digits.removeprefix("0")
    if len(digits) < MIN_DIGITS:
        raise ValueError(f"phone_number must have at least {MIN_DIGITS} digits")
    display = f"+{code} {digits}" if code is not None else digits
    return Phone(digits, country, display)

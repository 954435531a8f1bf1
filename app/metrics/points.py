"""Data points on the way in: Statuspage's rules (API.md 2.10), checked in Python before any SQL.

Each point is cast to the nearest 30-second slot; a later value for a slot replaces the earlier one;
points may be backfilled up to 28 days; a point in the future, or whose value is not a finite
number, is refused, and one bad point refuses the whole request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.core.errors import Unprocessable
from app.metrics.schemas import DataPointIn, PeriodName

SLOT_SECONDS = 30
BACKFILL_SECONDS = 28 * 86_400
# A point this far ahead of our clock still counts as "now" (clients' clocks drift).
MAX_CLOCK_SKEW_SECONDS = 60
MAX_POINTS_PER_REQUEST = 10_000
_MAX_ERRORS = 10


@dataclass(frozen=True, slots=True)
class Period:
    """One display period: `count` buckets of `interval` seconds (API.md 5.5)."""

    identifier: PeriodName
    interval: int
    count: int


PERIODS: dict[str, Period] = {
    "day": Period("day", 300, 288),
    "week": Period("week", 1800, 336),
    "month": Period("month", 7200, 336),
}
# The rollups kept for every metric: one per display period's bucket width.
ROLLUP_WIDTHS = tuple(period.interval for period in PERIODS.values())


def slot_of(timestamp: float) -> int:
    """The nearest 30-second slot (halves round up, as in Statuspage's examples)."""
    if isinstance(timestamp, int):
        return (timestamp + SLOT_SECONDS // 2) // SLOT_SECONDS * SLOT_SECONDS
    return math.floor(timestamp / SLOT_SECONDS + 0.5) * SLOT_SECONDS


def _number(raw: Any) -> float | None:
    """A JSON number, or a number sent as text (form bodies); None when it is neither."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _shown(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class _Checker:
    now: float
    errors: list[str]

    def timestamp(self, raw: Any, where: str) -> int | None:
        number = _number(raw)
        if raw is None:
            self.errors.append(f"{where}: is required (Unix seconds)")
        elif number is None or not math.isfinite(number):
            self.errors.append(f"{where}: must be a number of Unix seconds, got {_shown(raw)}")
        elif number > self.now + MAX_CLOCK_SKEW_SECONDS:
            self.errors.append(f"{where}: {raw} is in the future (Unix seconds, not milliseconds)")
        elif number < self.now - BACKFILL_SECONDS:
            self.errors.append(f"{where}: {raw} is more than 28 days in the past")
        else:
            return slot_of(number)
        return None

    def value(self, raw: Any, where: str) -> float | None:
        number = _number(raw)
        if raw is None:
            self.errors.append(f"{where}: is required")
        elif number is None:
            self.errors.append(f"{where}: must be a number, got {_shown(raw)}")
        elif not math.isfinite(value := _as_float(number)):
            self.errors.append(f"{where}: must be a finite number, got {_shown(raw)}")
        else:
            return value
        return None


def _as_float(number: float) -> float:
    try:
        return float(number)
    except OverflowError:  # an integer beyond float's range
        return math.inf


def _raise(errors: list[str]) -> None:
    shown = errors[:_MAX_ERRORS]
    more = len(errors) - len(shown)
    raise Unprocessable("; ".join(shown) + (f"; and {more} more" if more > 0 else ""))


def check_point(point: DataPointIn, now: float) -> tuple[int, float]:
    """The single-point body: answers (slot, value) or raises a 422 naming the field."""
    checker = _Checker(now, [])
    slot = checker.timestamp(point.timestamp, "data.timestamp")
    value = checker.value(point.value, "data.value")
    if slot is None or value is None:
        _raise(checker.errors)
    assert slot is not None and value is not None
    return slot, value


def check_batches(
    batches: Mapping[str, Sequence[DataPointIn]], now: float
) -> dict[str, list[tuple[int, float]]]:
    """Every point of a bulk body, in the order sent, cast to its slot; a 422 naming every bad
    point (up to ten) when there is one."""
    total = sum(len(points) for points in batches.values())
    if total > MAX_POINTS_PER_REQUEST:
        raise Unprocessable(f"data: at most {MAX_POINTS_PER_REQUEST} points per request")
    checker = _Checker(now, [])
    checked: dict[str, list[tuple[int, float]]] = {}
    for metric_id, points in batches.items():
        accepted: list[tuple[int, float]] = []
        for index, point in enumerate(points):
            where = f"data.{metric_id}[{index}]"
            slot = checker.timestamp(point.timestamp, f"{where}.timestamp")
            value = checker.value(point.value, f"{where}.value")
            if slot is not None and value is not None:
                accepted.append((slot, value))
        checked[metric_id] = accepted
    if checker.errors:
        _raise(checker.errors)
    return checked


@dataclass(frozen=True, slots=True)
class Rows:
    """Points as column arrays for one multi-row statement, one row per (metric, slot) (the last
    value sent for a slot wins), in key order."""

    metric_ids: list[str]
    slots: list[int]
    values: list[float]

    @classmethod
    def of(cls, checked: Mapping[str, Sequence[tuple[int, float]]]) -> Rows:
        metric_ids: list[str] = []
        slots: list[int] = []
        values: list[float] = []
        for metric_id in sorted(checked):
            latest = dict(checked[metric_id])
            metric_ids.extend([metric_id] * len(latest))
            for slot in sorted(latest):
                slots.append(slot)
                values.append(latest[slot])
        return cls(metric_ids, slots, values)

    def __len__(self) -> int:
        return len(self.slots)

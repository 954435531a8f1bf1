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

import orjson

from app.core.errors import Unprocessable
from app.metrics.schemas import PeriodName

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
# The unit in which rollups are queued and recomputed: the coarsest bucket, which every finer one
# divides, so that recomputing it from its points recomputes every rollup over them.
QUEUE_BUCKET_SECONDS = max(ROLLUP_WIDTHS)
assert all(QUEUE_BUCKET_SECONDS % width == 0 for width in ROLLUP_WIDTHS)


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


def accept(raw_timestamp: Any, raw_value: Any, low: float, high: float) -> tuple[int, float] | None:
    """(slot, value) of a point whose timestamp (within [low, high]) and value are JSON numbers, the
    common case, checked without building any message; None for every other point, which the
    checker then reads (numbers sent as text) or names."""
    kind = type(raw_timestamp)
    if (kind is not int and kind is not float) or not low <= raw_timestamp <= high:
        return None
    kind = type(raw_value)
    if kind is float:
        if not math.isfinite(raw_value):
            return None
        value: float = raw_value
    elif kind is int:
        value = _as_float(raw_value)
        if not math.isfinite(value):
            return None
    else:
        return None
    return slot_of(raw_timestamp), value


def check_point(raw_timestamp: Any, raw_value: Any, now: float) -> tuple[int, float]:
    """The single-point body: answers (slot, value) or raises a 422 naming the field."""
    found = accept(raw_timestamp, raw_value, now - BACKFILL_SECONDS, now + MAX_CLOCK_SKEW_SECONDS)
    if found is not None:
        return found
    checker = _Checker(now, [])
    slot = checker.timestamp(raw_timestamp, "data.timestamp")
    value = checker.value(raw_value, "data.value")
    if slot is None or value is None:
        _raise(checker.errors)
    assert slot is not None and value is not None
    return slot, value


def check_batches(
    batches: Mapping[str, Sequence[tuple[Any, Any]]], now: float
) -> dict[str, list[tuple[int, float]]]:
    """Every point of a bulk body, as (timestamp, value) as sent, in the order sent, cast to its
    slot; a 422 naming every bad point (up to ten) when there is one."""
    total = sum(len(points) for points in batches.values())
    if total > MAX_POINTS_PER_REQUEST:
        raise Unprocessable(f"data: at most {MAX_POINTS_PER_REQUEST} points per request")
    low, high = now - BACKFILL_SECONDS, now + MAX_CLOCK_SKEW_SECONDS
    checker = _Checker(now, [])
    checked: dict[str, list[tuple[int, float]]] = {}
    for metric_id, points in batches.items():
        accepted: list[tuple[int, float]] = []
        for index, (raw_timestamp, raw_value) in enumerate(points):
            found = accept(raw_timestamp, raw_value, low, high)
            if found is None:
                where = f"data.{metric_id}[{index}]"
                slot = checker.timestamp(raw_timestamp, f"{where}.timestamp")
                value = checker.value(raw_value, f"{where}.value")
                if slot is None or value is None:
                    continue
                found = (slot, value)
            accepted.append(found)
        checked[metric_id] = accepted
    if checker.errors:
        _raise(checker.errors)
    return checked


def read_bulk_json(body: bytes, now: float) -> dict[str, list[tuple[int, float]]] | None:
    """The points of a bulk JSON body `{"data": {"<metric id>": [{"timestamp": ..., "value": ...},
    ...], ...}}` read without pydantic, by the rules above; None when the body is anything else or
    has a bad point (the route then reads it again and says what is wrong)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    batches = document.get("data") if type(document) is dict else None
    if type(batches) is not dict or not batches:
        return None
    pairs: dict[str, list[tuple[Any, Any]]] = {}
    for metric_id, points in batches.items():
        if type(points) is not list:
            return None
        pairs[metric_id] = found = []
        for point in points:
            if type(point) is not dict:
                return None
            found.append((point.get("timestamp"), point.get("value")))
    try:
        return check_batches(pairs, now)
    except Unprocessable:
        return None


@dataclass(frozen=True, slots=True)
class Batch:
    """Checked points as the ingestion statement's column arrays: one row per (metric, slot), the
    last value sent for a slot winning, in key order (so that concurrent requests lock slots in the
    same order); and the (metric, queue bucket) pairs they fall in, for the rollups' queue."""

    wanted: list[str]
    metric_ids: list[str]
    slots: list[int]
    values: list[float]
    queued_ids: list[str]
    queued_buckets: list[int]

    @classmethod
    def of(cls, checked: Mapping[str, Sequence[tuple[int, float]]]) -> Batch:
        wanted = sorted(checked)
        batch = cls(wanted, [], [], [], [], [])
        for metric_id in wanted:
            latest = dict(checked[metric_id])
            ordered = sorted(latest)
            batch.metric_ids.extend([metric_id] * len(ordered))
            batch.slots.extend(ordered)
            batch.values.extend([latest[slot] for slot in ordered])
            previous = None
            for slot in ordered:
                bucket = slot - slot % QUEUE_BUCKET_SECONDS
                if bucket != previous:
                    batch.queued_ids.append(metric_id)
                    batch.queued_buckets.append(bucket)
                    previous = bucket
        return batch

    def __len__(self) -> int:
        return len(self.slots)

"""The page's status indicator and description (API.md 5.3), computed by this one function for the
public feeds and for webhooks' `page.status_indicator`."""

from __future__ import annotations

from collections.abc import Iterable

SEVERITY = {
    "operational": 0,
    "under_maintenance": 1,
    "degraded_performance": 2,
    "partial_outage": 3,
    "major_outage": 4,
}
IMPACT_ORDER = ("none", "maintenance", "minor", "major", "critical")
INDICATOR_ORDER = ("none", "maintenance", "minor", "major", "critical")

_ALL_SAME = {
    "major_outage": ("critical", "Major System Outage"),
    "partial_outage": ("major", "Partial System Outage"),
    "degraded_performance": ("minor", "Degraded System Service"),
    "under_maintenance": ("maintenance", "Service Under Maintenance"),
}
_MIXED_WORST = {
    "major_outage": ("major", "Partial System Outage"),
    "partial_outage": ("minor", "Minor Service Outage"),
    "degraded_performance": ("minor", "Partially Degraded Service"),
    "under_maintenance": ("maintenance", "Service Under Maintenance"),
}
_BY_INCIDENT = {
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}


def worst_status(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda s: SEVERITY.get(s, 0), default="operational")


def page_status(
    leaf_statuses: Iterable[str], unresolved_incident_impacts: Iterable[str] = ()
) -> tuple[str, str]:
    """(indicator, description) from the statuses of the page's components (groups excluded) and
    the impacts of its unresolved realtime incidents, which can raise but never lower it."""
    statuses = list(leaf_statuses)
    distinct = set(statuses)
    if not distinct or distinct == {"operational"}:
        indicator, description = "none", "All Systems Operational"
    elif len(distinct) == 1:
        indicator, description = _ALL_SAME[statuses[0]]
    else:
        indicator, description = _MIXED_WORST[worst_status(distinct - {"operational"})]
    impacts = [i for i in unresolved_incident_impacts if i in _BY_INCIDENT]
    if impacts:
        worst_impact = max(impacts, key=INDICATOR_ORDER.index)
        if INDICATOR_ORDER.index(worst_impact) > INDICATOR_ORDER.index(indicator):
            indicator, description = worst_impact, _BY_INCIDENT[worst_impact]
    return indicator, description

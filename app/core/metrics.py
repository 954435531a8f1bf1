"""A small Prometheus registry: requests by route and status, and a latency histogram per route."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency_buckets: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.latency_count: dict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        buckets = self.latency_buckets[route]
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                buckets[index] += 1
                break
        self.latency_sum[route] += seconds
        self.latency_count[route] += 1

    def render(self, gauges: Iterable[tuple[str, str, float]] = ()) -> str:
        lines = [
            "# HELP statuspage_http_requests_total HTTP requests by route and status.",
            "# TYPE statuspage_http_requests_total counter",
        ]
        for (method, route, status), count in sorted(self.requests.items()):
            lines.append(
                f'statuspage_http_requests_total{{method="{method}",route="{_escape(route)}",'
                f'status="{status}"}} {count}'
            )
        lines += [
            "# HELP statuspage_http_request_duration_seconds Request latency by route.",
            "# TYPE statuspage_http_request_duration_seconds histogram",
        ]
        for route in sorted(self.latency_buckets):
            label = _escape(route)
            cumulative = 0
            for bound, count in zip(BUCKETS, self.latency_buckets[route], strict=True):
                cumulative += count
                lines.append(
                    f'statuspage_http_request_duration_seconds_bucket{{route="{label}",'
                    f'le="{bound}"}} {cumulative}'
                )
            total = self.latency_count[route]
            lines.append(
                f'statuspage_http_request_duration_seconds_bucket{{route="{label}",le="+Inf"}} {total}'
            )
            lines.append(
                f'statuspage_http_request_duration_seconds_sum{{route="{label}"}} '
                f"{self.latency_sum[route]:.6f}"
            )
            lines.append(
                f'statuspage_http_request_duration_seconds_count{{route="{label}"}} {total}'
            )
        for name, help_text, value in gauges:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
        return "\n".join(lines) + "\n"

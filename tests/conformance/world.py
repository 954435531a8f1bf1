"""A tenant populated through our own API with one resource of each kind, for the conformance
run. A resource whose creation route is not there yet (404/405 from the route table) is skipped
and its id stays unknown; operations that need it then report "route not implemented" or fail
on their own."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.routing import Match

from tests.conftest import Tenant


@dataclass
class RouteTable:
    """Which (method, path) pairs our app routes at all (independent of ids in the path)."""

    app: FastAPI

    def implemented(self, method: str, path: str) -> bool:
        scope = {"type": "http", "path": path, "method": method, "root_path": ""}
        for route in self.app.router.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return True
        return False


@dataclass
class World:
    client: httpx.AsyncClient
    tenant: Tenant
    routes: RouteTable
    ids: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def page(self) -> str:
        return f"/v1/pages/{self.tenant.page_id}"

    def unique(self) -> int:
        return next(self.counter)

    async def _create(self, what: str, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """POST (or PUT for the postmortem) through our API; None when the route is missing."""
        method = "PUT" if path.endswith("/postmortem") else "POST"
        if not self.routes.implemented(method, path):
            self.skipped.append(f"{what}: {method} {path} not routed")
            return None
        response = await self.client.request(method, path, headers=self.tenant.auth, json=body)
        if response.status_code in (404, 405):
            self.skipped.append(f"{what}: {method} {path} answered {response.status_code}")
            return None
        assert response.status_code < 300, (what, response.status_code, response.text)
        result: dict[str, Any] = response.json()
        return result

    # one creator per kind; each returns the new id (or None) --------------------------------

    async def component(self, name: str = "API") -> str | None:
        made = await self._create(
            "component",
            f"{self.page}/components",
            {"component": {"name": f"{name} {self.unique()}", "showcase": True}},
        )
        return made["id"] if made else None

    async def group(self, component_id: str | None) -> str | None:
        if component_id is None:
            return None
        made = await self._create(
            "component group",
            f"{self.page}/component-groups",
            {"component_group": {"name": f"Group {self.unique()}", "components": [component_id]}},
        )
        return made["id"] if made else None

    async def incident(self, **fields: Any) -> dict[str, Any] | None:
        body = {"name": f"Incident {self.unique()}", "status": "investigating", "body": "Looking"}
        body.update(fields)
        return await self._create("incident", f"{self.page}/incidents", {"incident": body})

    async def postmortem(self, incident_id: str) -> bool:
        made = await self._create(
            "postmortem",
            f"{self.page}/incidents/{incident_id}/postmortem",
            {"postmortem": {"body_draft": "What happened"}},
        )
        return made is not None

    async def template(self) -> str | None:
        made = await self._create(
            "incident template",
            f"{self.page}/incident_templates",
            {"template": {"name": "Outage", "title": "Outage", "body": "We are looking"}},
        )
        return made["id"] if made else None

    async def provider(self) -> str | None:
        made = await self._create(
            "metrics provider",
            f"{self.page}/metrics_providers",
            {"metrics_provider": {"type": "Self"}},
        )
        return made["id"] if made else None

    async def metric(self, provider_id: str | None) -> str | None:
        if provider_id is None:
            return None
        made = await self._create(
            "metric",
            f"{self.page}/metrics_providers/{provider_id}/metrics",
            {"metric": {"name": f"Latency {self.unique()}", "metric_identifier": "latency"}},
        )
        return made["id"] if made else None

    async def subscriber(self, confirmed: bool = True) -> str | None:
        made = await self._create(
            "subscriber",
            f"{self.page}/subscribers",
            {
                "subscriber": {
                    "email": f"reader{self.unique()}@example.com",
                    "skip_confirmation_notification": confirmed,
                }
            },
        )
        return made["id"] if made else None

    async def incident_subscriber(self, incident_id: str | None) -> str | None:
        if incident_id is None:
            return None
        made = await self._create(
            "incident subscriber",
            f"{self.page}/incidents/{incident_id}/subscribers",
            {"subscriber": {"email": f"follower{self.unique()}@example.com"}},
        )
        return made["id"] if made else None

    async def page_access_user(self) -> str | None:
        made = await self._create(
            "page access user",
            f"{self.page}/page_access_users",
            {"page_access_user": {"email": f"viewer{self.unique()}@example.com"}},
        )
        return made["id"] if made else None

    async def page_access_group(self) -> str | None:
        made = await self._create(
            "page access group",
            f"{self.page}/page_access_groups",
            {"page_access_group": {"name": f"Viewers {self.unique()}"}},
        )
        return made["id"] if made else None

    async def user(self) -> str | None:
        made = await self._create(
            "organization user",
            f"/v1/organizations/{self.tenant.organization_id}/users",
            {
                "user": {
                    "email": f"teammate{self.unique()}@example.com",
                    "password": "correct-horse-battery-staple",
                    "first_name": "Team",
                    "last_name": "Mate",
                }
            },
        )
        return made["id"] if made else None

    async def populate(self) -> None:
        """One resource of each kind, created through our API."""
        now = datetime.now(UTC)
        ids = self.ids
        ids["page_id"] = self.tenant.page_id
        ids["organization_id"] = self.tenant.organization_id
        put = _setter(ids)
        put("component_id", await self.component())
        put("group_member_id", await self.component("Grouped"))
        put("group_id", await self.group(ids.get("group_member_id")))
        incident = await self.incident(
            components={ids.get("component_id", "x"): "degraded_performance"}
        )
        if incident is not None:
            ids["incident_id"] = incident["id"]
            updated = await self.client.patch(
                f"{self.page}/incidents/{incident['id']}",
                headers=self.tenant.auth,
                json={"incident": {"status": "identified", "body": "Found it"}},
            )
            assert updated.status_code == 200, updated.text
            updates = updated.json().get("incident_updates") or []
            if updates:
                ids["incident_update_id"] = updates[0]["id"]
            await self.postmortem(incident["id"])
        # maintenances, so the maintenance lists have an item to check
        await self.incident(
            status="scheduled",
            scheduled_for=(now + timedelta(days=1)).isoformat(),
            scheduled_until=(now + timedelta(days=1, hours=2)).isoformat(),
        )
        await self.incident(
            status="in_progress",
            scheduled_for=(now - timedelta(hours=1)).isoformat(),
            scheduled_until=(now + timedelta(hours=1)).isoformat(),
        )
        put("template_id", await self.template())
        put("metrics_provider_id", await self.provider())
        put("metric_id", await self.metric(ids.get("metrics_provider_id")))
        put("subscriber_id", await self.subscriber(confirmed=True))
        put("unconfirmed_subscriber_id", await self.subscriber(confirmed=False))
        gone = await self.subscriber(confirmed=True)
        if gone is not None:  # so GET /subscribers/unsubscribed has an item to check
            response = await self.client.delete(
                f"{self.page}/subscribers/{gone}", headers=self.tenant.auth
            )
            if response.status_code in (404, 405):
                self.skipped.append(
                    f"unsubscribed subscriber: DELETE answered {response.status_code}"
                )
        put("incident_subscriber_id", await self.incident_subscriber(ids.get("incident_id")))
        put("page_access_user_id", await self.page_access_user())
        put("page_access_group_id", await self.page_access_group())
        put("user_id", await self.user())


def _setter(ids: dict[str, str]) -> Any:
    def put(name: str, value: str | None) -> None:
        if value is not None:
            ids[name] = value

    return put

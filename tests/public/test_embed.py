"""The status embed script: per page (its corner and colours written in), a snapshot of the page
revision with its ETag, cacheable and open to every origin; nothing for pages other sites cannot
read. The script in a browser: test_embed_browser.py."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.audiences.helpers import create_user
from tests.conftest import Tenant
from tests.public.conftest import Served


def config_of(script: str) -> dict[str, Any]:
    found = re.search(r"var config = (\{.*?\});\n", script)
    assert found is not None, script[:500]
    config: dict[str, Any] = json.loads(found.group(1))
    return config


async def test_embed_script(served: Served, tenant: Tenant) -> None:
    client = served.client
    page_id = tenant.page_id
    response = await client.get(f"/embed/script.js?page={page_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"].startswith("public, max-age=60")
    script = response.text
    assert "textContent" in script and "innerHTML" not in script
    config = config_of(script)
    assert config["page_id"] == page_id
    assert config["summary_url"].endswith(f"/p/{page_id}/api/v2/summary.json")
    assert config["position"] == "bottom-left"
    assert config["colors"]["incident"] == {"background": "e74c3c", "text": "ffffff"}

    # 304 on its tag; the same script under the page's own prefix.
    etag = response.headers["etag"]
    again = await client.get(f"/embed/script.js?page={page_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    prefixed = await client.get(f"/p/{page_id}/embed/script.js")
    assert prefixed.status_code == 200 and prefixed.content == response.content

    # A config change is a new revision: a new script.
    changed = await client.patch(
        f"/v1/pages/{page_id}/status_embed_config",
        headers=tenant.auth,
        json={
            "status_embed_config": {
                "position": "top-right",
                "incident_background_color": "123456",
                "maintenance_text_color": "000",
            }
        },
    )
    assert changed.status_code == 200, changed.text
    renamed = await client.patch(
        f"/v1/pages/{page_id}",
        headers=tenant.auth,
        json={"page": {"name": "Acme </script><script>alert(1)</script>"}},
    )
    assert renamed.status_code == 200, renamed.text
    await served.read_path.tracker.fetch(page_id)
    fresh = await client.get(f"/embed/script.js?page={page_id}")
    assert fresh.headers["etag"] != etag
    assert "</script>" not in fresh.text  # every `<` of the data is escaped
    config = config_of(fresh.text)
    assert config["position"] == "top-right"
    assert config["colors"]["incident"]["background"] == "123456"
    assert config["colors"]["maintenance"]["text"] == "000000"
    assert config["page_name"] == "Acme </script><script>alert(1)</script>"


async def test_no_embed_for_pages_others_cannot_read(served: Served, tenant: Tenant) -> None:
    client = served.client
    assert (await client.get("/embed/script.js?page=nosuchpage")).status_code == 404
    # The server's only page is at the root too (root addressing): no `?page=` needed.
    only = await client.get("/embed/script.js")
    assert only.status_code == 200 and config_of(only.text)["page_id"] == tenant.page_id
    # An audience-specific page: its summary is for its viewers only.
    await create_user(client, tenant, "ada@example.com")
    await served.read_path.tracker.fetch(tenant.page_id)
    response = await client.get(f"/embed/script.js?page={tenant.page_id}")
    assert response.status_code == 404

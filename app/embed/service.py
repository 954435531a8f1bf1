"""Status embed config: the defaults until a page first changes it, then its own row."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import Writer
from app.core.timefmt import utcnow
from app.embed.schemas import StatusEmbedConfig as ConfigOut
from app.embed.schemas import StatusEmbedConfigFields
from app.models import Page, StatusEmbedConfig
from app.models.embed import EMBED_DEFAULTS
from app.pages.service import bump_revision


def config_view(page_id: str, row: StatusEmbedConfig | None) -> ConfigOut:
    values = dict(EMBED_DEFAULTS)
    if row is not None:
        values = {name: getattr(row, name) for name in EMBED_DEFAULTS}
    return ConfigOut.model_validate({"page_id": page_id, **values})


async def get_config(session: AsyncSession, page: Page) -> ConfigOut:
    return config_view(page.id, await session.get(StatusEmbedConfig, page.id))


async def update_config(writer: Writer, page: Page, fields: StatusEmbedConfigFields) -> ConfigOut:
    """The embed script (served by the public path) reads this, hence the page revision."""
    session = writer.session
    changes = fields.model_dump(exclude_unset=True)
    if not changes:
        return await get_config(session, page)
    # Two first changes at once must not both insert: create the row if missing, then lock it.
    await session.execute(
        insert(StatusEmbedConfig)
        .values(page_id=page.id, **EMBED_DEFAULTS)
        .on_conflict_do_nothing(index_elements=["page_id"])
    )
    row = await session.get(
        StatusEmbedConfig, page.id, with_for_update=True, populate_existing=True
    )
    assert row is not None
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    await bump_revision(session, writer.work, writer.infra.notifier, page)
    return config_view(page.id, row)

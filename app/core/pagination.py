"""Statuspage's offset pagination: `page` (1-based) and `per_page` (default and cap 100), bare arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

MAX_PER_PAGE = 100
# Far beyond any real list, and small enough that offsets stay in a bigint (a larger page is 422).
MAX_PAGE = 10_000_000


@dataclass(frozen=True, slots=True)
class Pagination:
    page: int
    per_page: int
    requested: bool  # whether the client sent either parameter

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


async def pagination(
    page: Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")] = None,
    per_page: Annotated[
        int | None, Query(ge=1, description=f"Items per page, at most {MAX_PER_PAGE}")
    ] = None,
) -> Pagination:
    return Pagination(
        page=page or 1,
        per_page=min(per_page or MAX_PER_PAGE, MAX_PER_PAGE),
        requested=page is not None or per_page is not None,
    )


PaginationDep = Annotated[Pagination, Depends(pagination)]

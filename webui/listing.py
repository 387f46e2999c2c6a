"""What every long list of the console shares: the filters read from the query string (search
term, merchant, test traffic, time range), page links with "x–y of N", and downloads of
everything the filter shows as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Optional, Sequence, TypeVar
from urllib.parse import urlencode

from aiohttp import web

from emulator.clock import to_utc_naive
from emulator.marketplace.search import Found, search
from emulator.services import Services

from .pages.common import query

Row = TypeVar("Row")
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 10**7
TEST_TRAFFIC = {"": "shown", "hide": "hidden", "only": "only"}
#: A cell a spreadsheet would run as a formula starts with one of these (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ListFilters:
    """The filters every list offers, as typed, with an error per field that could not be read."""

    q: str = ""
    merchant_id: str = ""
    test: str = ""
    since_text: str = ""
    until_text: str = ""
    since: Optional[datetime] = None
    until: Optional[datetime] = None
    found: Optional[Found] = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.q or self.merchant_id or self.test or self.since_text or self.until_text)


def _moment(text: str, name: str, errors: dict[str, str]) -> Optional[datetime]:
    if not text:
        return None
    try:
        return to_utc_naive(datetime.fromisoformat(text.removesuffix("Z")))
    except ValueError:
        errors[name] = f"{name}: {text[:40]!r} is not a date and time (YYYY-MM-DDTHH:MM, UTC)"
        return None


async def read_filters(request: web.Request, services: Services) -> ListFilters:
    def text(name: str, limit: int) -> str:
        return (query(request, name) or "")[:limit]

    flt = ListFilters(q=text("q", 200), merchant_id=text("merchant_id", 64),
                      test=text("test", 8) if text("test", 8) in TEST_TRAFFIC else "",
                      since_text=text("since", 40), until_text=text("until", 40))
    flt.since = _moment(flt.since_text, "since", flt.errors)
    flt.until = _moment(flt.until_text, "until", flt.errors)
    if flt.q:
        flt.found = await search(services.store, flt.q)
    return flt


@dataclass(frozen=True)
class Paging:
    """One page of a list: which rows, and the links to the others (the other parameters kept)."""

    number: int
    size: int
    total: int
    params: tuple[tuple[str, str], ...]
    path: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first_row(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)

    def url(self, number: int, size: Optional[int] = None) -> str:
        params = list(self.params)
        size = size or self.size
        if size != DEFAULT_PAGE_SIZE:
            params.append(("size", str(size)))
        if number > 1:
            params.append(("page", str(number)))
        return self.path + ("?" + urlencode(params) if params else "")

    def export_url(self, kind: str) -> str:
        """The download of everything the filter shows (every page)."""
        params = [(k, v) for k, v in self.params if k not in ("page", "size")]
        return f"{self.path}/export.{kind}" + ("?" + urlencode(params) if params else "")


def paging(request: web.Request, total: int) -> Paging:
    size_text, page_text = request.query.get("size", ""), request.query.get("page", "")
    size = int(size_text) if size_text.isdigit() and int(size_text) in PAGE_SIZES else DEFAULT_PAGE_SIZE
    page = Paging(1, size, total, (), request.path)
    number = int(page_text) if page_text.isdigit() and 0 < len(page_text) < 9 else 1
    params = tuple((k, v) for k, v in request.query.items() if k not in ("page", "size"))
    return Paging(max(1, min(number, page.pages, MAX_PAGE)), size, total, params, request.path)


# -- downloads ---------------------------------------------------------------------------------
EXPORT_BATCH = 1000


async def every_row(page: Callable[[Optional[int]], Awaitable[Sequence[Row]]],
                    cursor: Callable[[Row], Optional[int]]) -> AsyncIterator[Sequence[Row]]:
    """Every row of a newest-first list, a batch at a time: ``page(before)`` gives the batch below
    the cursor (keyset paging, so a download of a whole store holds one batch in memory)."""
    before: Optional[int] = None
    while True:
        rows = await page(before)
        if not rows:
            return
        yield rows
        before = cursor(rows[-1])
        if before is None:
            return


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


async def download(request: web.Request, name: str, kind: str, columns: Sequence[str],
                   batches: AsyncIterator[Sequence[Any]], view: Callable[[Any], dict[str, Any]]) -> web.StreamResponse:
    """Stream every row as CSV (``columns`` of each view) or as a JSON array of the views."""
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8" if kind == "csv" else "application/json; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}.{kind}"',
        "Cache-Control": "no-store",
    })
    await response.prepare(request)
    if kind == "csv":
        await response.write(_csv_line(columns))
    else:
        await response.write(b"[")
    first = True
    async for batch in batches:
        if kind == "csv":
            views = [view(row) for row in batch]
            chunk = b"".join(_csv_line([_cell(v.get(c)) for c in columns]) for v in views)
        else:
            chunk = b",\n".join(json.dumps(view(row), ensure_ascii=False).encode() for row in batch)
            chunk = (b"\n" if first else b",\n") + chunk
        first = False
        await response.write(chunk)
    if kind == "json":
        await response.write(b"\n]\n")
    await response.write_eof()
    return response


def _csv_line(cells: Sequence[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().encode("utf-8")

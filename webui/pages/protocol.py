"""Protocol: the emulator's protocol reference (docs/protocol.md) as a page, one anchor per section.

Section headings get stable ids that other pages link to: ``## §5 …`` is ``#s5``, ``### §12.8 …`` is
``#s12-8`` and ``### §2(a) …`` is ``#s2a`` (``section_href("§2a")`` builds such a link). Other
headings get a slug, prefixed with the id of the section they belong to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from aiohttp import web
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from .common import render

# The repository's docs/ folder is installed as this package (pyproject.toml).
DOCS_PACKAGE = "emulator._docs"
# Used when the package cannot be imported: a checkout run from source, or an editable install made
# before the package existed.
REPO_DOCS = Path(__file__).resolve().parents[2] / "docs"
PROTOCOL_FILE = "protocol.md"

_SECTION = re.compile(r"^§(\d+)(?:\.(\d+)|\(?([a-z])\)?)?(?![\w.])")


def protocol_source() -> Traversable:
    """docs/protocol.md: the package data in a wheel install, else the checkout's file."""
    try:
        packaged = resources.files(DOCS_PACKAGE).joinpath(PROTOCOL_FILE)
    except ModuleNotFoundError:
        packaged = None
    if packaged is not None and packaged.is_file():
        return packaged
    return REPO_DOCS / PROTOCOL_FILE


def section_id(ref: str) -> str | None:
    """The anchor of a section reference: ``§5`` -> ``s5``, ``§12.8`` -> ``s12-8``, ``§2(a)`` and ``§2a``
    -> ``s2a``; None when ``ref`` does not start with one."""
    match = _SECTION.match(ref.strip())
    if match is None:
        return None
    number, sub, letter = match.groups()
    return "s" + number + (f"-{sub}" if sub else "") + (letter or "")


def section_href(ref: str) -> str:
    anchor = section_id(ref)
    return "/protocol" + (f"#{anchor}" if anchor else "")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _plain(inline: Token) -> str:
    return "".join(child.content for child in inline.children or () if child.type in ("text", "code_inline"))


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class Rendered:
    title: str  # the document's own ``#`` heading, which the page shows as its h1
    html: Markup
    toc: tuple[Heading, ...]  # the ``##`` sections, in order


def render_markdown(source: str) -> Rendered:
    """The reference as HTML (raw HTML in the source is escaped), with an id on every heading."""
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    tokens = md.parse(source)
    title = "Protocol reference"
    if len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        title = _plain(tokens[1]).strip() or title
        del tokens[:3]
    headings: list[Heading] = []
    used: set[str] = set()
    scope = ""
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type != "heading_open":
            continue
        level = int(opening.tag[1])
        text = _plain(inline).strip()
        numbered = section_id(text)
        if level <= 2:
            scope = numbered or ""
        anchor = numbered or (f"{scope}-{_slug(text)}" if scope else _slug(text))
        base, n = anchor, 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        opening.attrSet("id", anchor)
        headings.append(Heading(level, anchor, text))
    html = md.renderer.render(tokens, md.options, {})
    return Rendered(title, Markup(html), tuple(h for h in headings if h.level == 2))


def _table_open(renderer, tokens, idx, options, env):  # type: ignore[no-untyped-def]
    """Wide tables scroll sideways inside their own box instead of widening the page."""
    return '<div class="table-wrap">' + renderer.renderToken(tokens, idx, options, env)


def _table_close(renderer, tokens, idx, options, env):  # type: ignore[no-untyped-def]
    return renderer.renderToken(tokens, idx, options, env) + "</div>\n"


@lru_cache(maxsize=1)
def rendered_protocol() -> Rendered:
    """Rendered once per process: the reference ships with the emulator and does not change while it runs."""
    return render_markdown(protocol_source().read_text(encoding="utf-8"))


async def protocol_page(request: web.Request) -> web.Response:
    protocol = rendered_protocol()
    return render("protocol.html", request, {"protocol": protocol})


def setup(app: web.Application) -> None:
    app.router.add_get("/protocol", protocol_page)

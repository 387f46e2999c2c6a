"""One way to read a posted form (console forms, the OAuth token and login endpoints).

aiohttp's ``request.post()`` raises whatever its decoders raise on hostile input (invalid UTF-8,
a multipart body without its boundary, a truncated part). Here every such body becomes one
:class:`BadForm` that callers turn into a 400 in their own shape.
"""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy


class BadForm(ValueError):
    """The posted form cannot be read; ``str(exc)`` says why."""


async def read_post(request: web.Request) -> MultiDictProxy:  # type: ignore[type-arg]
    """The posted fields (the result is cached by aiohttp, so calling twice is free)."""
    try:
        return await request.post()
    except web.HTTPException:  # too large: aiohttp's 413 is already the right answer
        raise
    except UnicodeDecodeError as exc:
        raise BadForm(f"the form is not UTF-8 (byte {exc.start})") from None
    except (ValueError, AssertionError, LookupError, RuntimeError) as exc:
        kind = "multipart form" if request.content_type.startswith("multipart/") else "form"
        raise BadForm(f"the {kind} cannot be read: {exc or type(exc).__name__}") from None

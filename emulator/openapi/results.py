"""The MKT result envelope of the open APIs (PROTOCOL §12.4)."""

from __future__ import annotations

from typing import Any, Optional

SUCCESS = "MKT.0000"

#: ``resultCode`` → (HTTP status, ``resultMsg``), PROTOCOL §12.4. ``MKT.0000`` uses the text of the
#: documented example and captured response ("Success", §15.2), not the table's "Success.".
MKT_CODES: dict[str, tuple[int, str]] = {
    "MKT.0000": (200, "Success"),
    "MKT.0999": (500, "System internal error."),
    "MKT.0100": (500, "Failure of input parameter"),
    "MKT.0101": (400, "Invalid parameter"),
    "MKT.0199": (400, "Request parameter error"),
    "MKT.0150": (401, "Illegal operation"),
    "MKT.0151": (401, "No authority"),
    "MKT.0154": (401, "Illegal token"),
    "MKT.0250": (406, "Access frequency overlimit"),
    "MKT.9001": (500, "Instance ID not found."),
    "MKT.9002": (500, "Invalid usage enties."),  # the marketplace's spelling, kept verbatim
    "MKT.9003": (500, "Usage records extends size limit."),
    "MKT.9004": (500, "Record beginTime extends Limit."),
}


#: The codes that may carry ``extra_info`` (§12.4); ``MKT.9005`` is listed there but never emitted.
EXTRA_INFO_CODES = frozenset({"MKT.0100", "MKT.0150", "MKT.0250", "MKT.9001", "MKT.9002", "MKT.9004", "MKT.9005"})


def envelope(code: str, message: str, extra_info: Optional[str] = None) -> dict[str, Any]:
    """``resultCode``/``resultMsg``, plus ``extra_info`` exactly when it is given and ``code`` may carry
    it (§12.4): the one rule for every open-API answer. Other codes keep their detail for the journal."""
    body: dict[str, Any] = {"resultCode": code, "resultMsg": message}
    if extra_info is not None and code in EXTRA_INFO_CODES:
        body["extra_info"] = extra_info
    return body


def mkt_body(code: str, extra_info: Optional[str] = None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, envelope) for a §12.4 code."""
    status, message = MKT_CODES[code]
    return status, envelope(code, message, extra_info)


def success(**members: Any) -> dict[str, Any]:
    """The ``MKT.0000`` envelope carrying the API-specific ``members``."""
    return {"resultCode": SUCCESS, "resultMsg": MKT_CODES[SUCCESS][1], **members}


class MktError(Exception):
    """A backend answer other than success: raise it, turn it into a response with ``status``/``body()``."""

    def __init__(self, code: str, extra_info: Optional[str] = None) -> None:
        if code not in MKT_CODES:
            raise ValueError(f"unknown MKT result code {code!r}")
        super().__init__(f"{code}: {extra_info}" if extra_info is not None else code)
        self.code: str = code
        self.extra_info: Optional[str] = extra_info

    @property
    def status(self) -> int:
        return MKT_CODES[self.code][0]

    def body(self) -> dict[str, Any]:
        return mkt_body(self.code, self.extra_info)[1]


class ApiAnswer(MktError):
    """A non-success answer with its own code, text and status (the License codes of §12.8, some of
    which come with HTTP 200)."""

    def __init__(self, code: str, message: str, status: int, detail: Optional[str] = None) -> None:
        Exception.__init__(self, f"{code}: {detail or message}")
        self.code, self.extra_info = code, detail
        self._message, self._status = message, status

    @property
    def status(self) -> int:
        return self._status

    def body(self) -> dict[str, Any]:
        return envelope(self.code, self._message, self.extra_info)

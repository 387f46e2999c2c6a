"""Checks of a merchant's production URL (PROTOCOL §1 "Scheme in production / in the emulator")."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

DEMO_MERCHANT_PATH = "/demo-merchant/"


@dataclass(frozen=True)
class OwnAddress:
    """Where this emulator listens: a callback there would call its own control API."""

    hosts: frozenset[str]
    port: int


def self_target_reason(url: str, own: Optional[OwnAddress]) -> Optional[str]:
    """Why ``url`` may not be a production URL because it is this emulator itself, or None.
    The built-in demo merchant (``/demo-merchant/``) is the one part of the emulator allowed."""
    if own is None:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if port != own.port or host not in own.hosts or parts.path.startswith(DEMO_MERCHANT_PATH):
        return None
    return (f"points at this emulator itself ({host}:{port}{parts.path or '/'}); only its demo merchant "
            f"({DEMO_MERCHANT_PATH}produce) may be a production URL here")


def production_url_warnings(url: str) -> list[str]:
    """What the real marketplace would refuse although the emulator accepts it (§1)."""
    warnings = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return warnings
    if parts.scheme == "http":
        warnings.append("plain http: the marketplace only calls https:// URLs with a CA-issued certificate "
                        "(TLS 1.2 or later)")
    host = (parts.hostname or "").lower()
    if host == "localhost" or _is_ip(host):
        warnings.append(f"{host} is not a domain name: the marketplace refuses IP addresses and localhost")
    return warnings


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

"""The console's navigation: later features add their page with ``add``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    title: str
    path: str


NAV: list[NavItem] = [
    NavItem("Dashboard", "/"),
    NavItem("Merchants", "/merchants"),
    NavItem("Catalogue", "/catalogue"),
    NavItem("Orders", "/orders"),
    NavItem("Deliveries", "/deliveries"),
    NavItem("Open APIs", "/inbound"),
    NavItem("Unified login", "/login-apps"),
    NavItem("Enterprises", "/enterprises"),
    NavItem("Demo merchant", "/demo"),
    NavItem("Gateway", "/gateway"),
    NavItem("Dial tests", "/dial-tests"),
    NavItem("Certification", "/certify"),
    NavItem("Scenarios", "/scenarios"),
    NavItem("Clock", "/clock"),
    NavItem("Protocol", "/protocol"),
    NavItem("Settings", "/settings"),
]


def add(title: str, path: str, before: str = "Settings") -> None:
    index = next((i for i, item in enumerate(NAV) if item.title == before), len(NAV))
    NAV.insert(index, NavItem(title, path))


def current(path: str) -> str:
    best = max((item for item in NAV if path == item.path or (item.path != "/" and path.startswith(item.path))),
               key=lambda item: len(item.path), default=NAV[0])
    return best.path

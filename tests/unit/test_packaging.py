"""Package data: the demo catalogue and the scenarios are found through importlib.resources by the same
function the server uses, and pyproject.toml ships every folder of the package (fast checks; the
wheel itself is checked by tests/install)."""

from __future__ import annotations

import fnmatch
import json
import tomllib
import zipfile
from importlib import resources
from pathlib import Path

import pytest

import emulator
from emulator.settings import (
    FIXTURES_PACKAGE, REPO_FIXTURES, Settings, SettingsError, load_settings, packaged_fixtures_dir,
)
from emulator.testing.threaded import ThreadedEmulator

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_importlib_resources_finds_the_catalogue_and_the_scenarios() -> None:
    folder = packaged_fixtures_dir()
    packaged = resources.files(FIXTURES_PACKAGE)
    assert folder == packaged  # found as the package emulator._fixtures, not by the checkout fallback
    catalogue = json.loads(packaged.joinpath("demo-catalogue.json").read_text(encoding="utf-8"))
    assert "demo" in [m["id"] for m in catalogue["merchants"]]
    scenarios = sorted(p.name for p in packaged.joinpath("scenarios").iterdir() if p.name.endswith(".json"))
    assert scenarios == ["monthly-lifecycle.json", "trial-to-formal.json", "upgrade-and-unsubscribe.json"]
    assert (folder / "demo-catalogue.json").is_file() and (folder / "scenarios").is_dir()


def test_the_server_and_the_fixture_use_it_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KOOGALLERY_FIXTURES_DIR", raising=False)
    assert load_settings(environ={}).fixtures_dir == packaged_fixtures_dir()
    assert ThreadedEmulator().settings.fixtures_dir == packaged_fixtures_dir()


def test_koogallery_fixtures_dir_overrides(tmp_path: Path) -> None:
    assert load_settings(environ={"KOOGALLERY_FIXTURES_DIR": str(tmp_path)}).fixtures_dir == tmp_path
    with pytest.raises(SettingsError, match="KOOGALLERY_FIXTURES_DIR: .*must be an existing folder"):
        load_settings(environ={"KOOGALLERY_FIXTURES_DIR": str(tmp_path / "missing")})


def test_a_checkout_that_is_not_installed_uses_its_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(resources, "files", not_installed)
    assert packaged_fixtures_dir() == REPO_FIXTURES == ROOT / "fixtures"


def test_fixtures_inside_an_archive_ask_for_a_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("emulator/_fixtures/demo-catalogue.json", "{}")
    monkeypatch.setattr(resources, "files", lambda name: zipfile.Path(archive, "emulator/_fixtures/"))
    with pytest.raises(SettingsError, match="KOOGALLERY_FIXTURES_DIR"):
        Settings()


def test_one_version_source() -> None:
    assert "version" in PYPROJECT["project"]["dynamic"] and "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "emulator.__version__"}
    assert emulator.__version__.count(".") >= 2


def _package_folders() -> dict[str, Path]:
    setuptools = PYPROJECT["tool"]["setuptools"]
    mapped = setuptools.get("package-dir", {})
    folders = {}
    for package in setuptools["packages"]:
        base = max((p for p in mapped if package == p or package.startswith(p + ".")), key=len, default=None)
        if base is None:
            folders[package] = ROOT.joinpath(*package.split("."))
        else:
            folders[package] = ROOT / mapped[base] / Path(*package[len(base):].strip(".").split(".") or ["."])
    return folders


def test_pyproject_ships_every_folder_and_file_of_the_package() -> None:
    folders = _package_folders()
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]
    by_folder = {path.resolve(): package for package, path in folders.items()}
    unlisted, unshipped = [], []
    for top in ("emulator", "webui", "fixtures"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.name.startswith(".") \
                    or path.suffix in (".pyc", ".db"):
                continue
            package = by_folder.get(path.parent.resolve())
            if package is None:
                unlisted.append(str(path.parent.relative_to(ROOT)))
            elif path.suffix != ".py" and not any(fnmatch.fnmatch(path.name, p) for p in patterns.get(package, [])):
                unshipped.append(str(path.relative_to(ROOT)))
    assert sorted(set(unlisted)) == [], "add these folders to [tool.setuptools] packages in pyproject.toml"
    assert unshipped == [], "add patterns for these files to [tool.setuptools.package-data] in pyproject.toml"
    assert folders[FIXTURES_PACKAGE] == ROOT / "fixtures"


def test_the_protocol_reference_ships_as_package_data_and_the_console_finds_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from webui.pages.protocol import DOCS_PACKAGE, PROTOCOL_FILE, REPO_DOCS, protocol_source

    assert _package_folders()[DOCS_PACKAGE] == ROOT / "docs"
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"][DOCS_PACKAGE]
    assert any(fnmatch.fnmatch(PROTOCOL_FILE, p) for p in patterns), "docs/protocol.md must be in the wheel"
    assert any(dep.startswith("markdown-it-py") for dep in PYPROJECT["project"]["dependencies"])
    assert protocol_source().read_text(encoding="utf-8").startswith("# KooGallery protocol reference")

    def not_installed(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(resources, "files", not_installed)
    assert protocol_source() == REPO_DOCS / PROTOCOL_FILE == ROOT / "docs" / "protocol.md"

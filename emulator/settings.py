"""One typed settings object, read from environment variables and an optional TOML file.

Precedence: built-in defaults < TOML file (``KOOGALLERY_CONFIG`` or ``--config``) < environment
variables < command-line flags. Every value is validated at start; a bad value stops the
server with a message naming the variable.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "KOOGALLERY_"
# The repository's top-level fixtures/ folder is installed as this package (pyproject.toml).
FIXTURES_PACKAGE = "emulator._fixtures"
# Used only when the package cannot be imported: a checkout on sys.path that was never installed.
REPO_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class SettingsError(Exception):
    """Raised when the configuration is invalid; the message names each offending setting."""


def packaged_fixtures_dir() -> Path:
    """The folder of the demo catalogue (``demo-catalogue.json``) and the scenarios (``scenarios/``)
    that ship with the emulator: the package ``emulator._fixtures``, found with
    ``importlib.resources`` in a wheel install and an editable install alike. This is the default of
    the ``fixtures_dir`` setting, which ``KOOGALLERY_FIXTURES_DIR`` overrides."""
    try:
        root = resources.files(FIXTURES_PACKAGE)
    except ModuleNotFoundError:
        return REPO_FIXTURES
    if isinstance(root, Path):
        return root
    # Installed inside a zip archive: the store and the scenario runner need real files.
    raise SettingsError(f"the emulator's fixtures are inside an archive ({root}); set {ENV_PREFIX}FIXTURES_DIR "
                        "to a folder holding demo-catalogue.json and scenarios/")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    database: str = Field(
        "koogallery-sandbox.db",
        description="SQLite file path, ':memory:' for a throw-away store, or a SQLAlchemy URL.",
    )
    clock_mode: Literal["real", "scaled", "manual"] = "real"
    clock_speed: float = Field(1.0, gt=0, le=10_000_000)
    clock_start: datetime | None = None
    callback_timeout: float = Field(5.0, gt=0, le=120, description="Seconds per attempt (PROTOCOL §1).")
    demo_merchant: bool = True
    merchant_url: str | None = None
    merchant_key: str | None = None
    fixtures_dir: Path = Field(default_factory=packaged_fixtures_dir)
    seed_demo: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Browser safety (README "Security"): extra host names served besides the bound address and
    # loopback names, comma-separated; "*" serves any Host (behind a proxy that checks it).
    allowed_hosts: str = Field("", max_length=4096, pattern=r"^[A-Za-z0-9.:\[\]*_, -]*$")
    console_secret: Optional[str] = Field(None, min_length=16, max_length=256,
                                          description="Key of the console's CSRF tokens; random per process "
                                                      "when unset. Set it when replicas serve one console.")
    # Open APIs (PROTOCOL §12, §15.1 switches)
    openapi_sdk_date_skew_s: int = Field(900, ge=1, le=86400)
    openapi_rate_limit_per_s: Optional[int] = Field(None, ge=1, le=100000)
    openapi_mock_time: Literal["relative", "fixed"] = "relative"
    openapi_usage_sign_key: Literal["access_key", "sk"] = "access_key"
    openapi_usage_ts_window_s: int = Field(300, ge=1, le=86400)
    openapi_usage_max_records: int = Field(1000, ge=1, le=100000)
    openapi_usage_validation: Literal["record", "request"] = "record"
    # OAuth unified login (PROTOCOL §13)
    oauth_code_ttl_s: int = Field(300, ge=1, le=86400)
    oauth_access_ttl_s: int = Field(7200, ge=1, le=10 * 86400)
    oauth_refresh_ttl_s: int = Field(30 * 86400, ge=1, le=3650 * 86400)
    oauth_sso_session_ttl_s: int = Field(28800, ge=1, le=30 * 86400)
    oauth_redirect_uri_rule: Literal["same_origin", "exact", "same_domain"] = "same_origin"
    # Dial tests (PROTOCOL §11)
    dialtest_enabled: bool = True
    dialtest_slots: str = Field("09:00,15:00", pattern=r"^\d{2}:\d{2}(,\d{2}:\d{2})*$")
    dialtest_timezone: str = "Asia/Shanghai"
    dialtest_freeze_after_days: int = Field(5, ge=1, le=365)
    dialtest_auto_unfreeze: bool = True
    dialtest_smtp_url: Optional[str] = Field(None, pattern=r"^smtp://[^/:]+(:\d+)?/?$")
    # Gateway of Agents and API products (PROTOCOL §14; the agents_* items are assumed, §14.1)
    agents_jwt_header: str = Field("Authorization", pattern=r"^[A-Za-z0-9-]{1,64}$",
                                   description="Header carrying the AK/SK-mode JWT (agents.jwt_header).")
    agents_jwt_scheme: str = Field("Bearer", pattern=r"^[A-Za-z0-9-]{0,32}$",
                                   description="Word before the JWT in that header; empty: the JWT alone.")
    agents_jwt_exp_claim: bool = Field(False, description="Add an exp claim (timestamp + 300 s) to the JWT.")
    gateway_timeout_s: float = Field(5.0, gt=0, le=120, description="Connect and first-byte limit (as callbacks).")
    gateway_stream_max_s: float = Field(120.0, gt=0, le=3600, description="Longest event stream passed through.")
    gateway_max_reply_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)

    @field_validator("dialtest_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("clock_start")
    @classmethod
    def _naive_utc(cls, value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    @field_validator("fixtures_dir")
    @classmethod
    def _existing_dir(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError("must be an existing folder (it holds demo-catalogue.json and scenarios/)")
        return value

    @field_validator("merchant_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


def _env_values(environ: Mapping[str, str]) -> dict[str, str]:
    names = Settings.model_fields.keys()
    values: dict[str, str] = {}
    for name in names:
        key = ENV_PREFIX + name.upper()
        if key in environ and environ[key] != "":
            values[name] = environ[key]
    return values


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here: most runs have no settings file

    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    return data.get("koogallery", data)


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build validated settings; raise SettingsError with one line per bad setting."""
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if config_file:
        for key, value in _read_toml(Path(config_file)).items():
            merged[key] = value
            sources[key] = f"{key} in {config_file}"
    for key, value in _env_values(environ).items():
        merged[key] = value
        sources[key] = ENV_PREFIX + key.upper()
    for key, value in overrides.items():
        if value is not None:
            merged[key] = value
            sources[key] = f"--{key.replace('_', '-')}"
    try:
        return Settings(**merged)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "settings"
            where = sources.get(name, ENV_PREFIX + name.upper())
            if error["type"] == "extra_forbidden":
                lines.append(f"{where}: unknown setting")
            else:
                lines.append(f"{where}: {error['msg']} (got {error.get('input')!r})")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None

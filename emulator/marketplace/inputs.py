"""Validated inputs of the service layer, shared by the control API, the console and the fixtures.

Field names are the emulator's own (snake_case), not KooGallery wire names.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..delivery.faults import KINDS as FAULT_KINDS, MAX_SLOW_SEND_S
from ..jsonbody import StrictInput
from ..protocol.crypto import RSA_PADDINGS
from .periods import PERIOD_TYPES

FAMILIES = ("saas_v2_slim", "saas_v2_joint", "license_v2", "saas_v1")
LICENSE_EVENTS = ("purchase", "renewal", "expiry", "release", "upgrade", "status", "async")
CHARGING_MODES = ("PERIOD", "ONE_TIME", "ON_DEMAND")
POLICY_NAMES = ("purchase", "upgrade", "renewal", "freeze", "unfreeze", "release", "query_poll", "sync",
                "v1_purchase", "v1_upgrade", "v1_renewal", "v1_freeze", "v1_unfreeze", "v1_release")

SLUG = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ActivityName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9]{0,31}$")]
Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class _Input(StrictInput):
    pass


def _http_url(value: Optional[str]) -> Optional[str]:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class RetryOverride(_Input):
    attempts: int = Field(ge=1, le=1000)
    interval_s: int = Field(ge=0, le=7 * 86400)
    first_delay_s: Optional[int] = Field(default=None, ge=0, le=7 * 86400)


class MerchantPatch(_Input):
    name: Optional[str] = Field(default=None, min_length=1, max_length=128)
    production_url: Optional[str] = Field(default=None, max_length=1024)
    access_key: Optional[str] = Field(default=None, min_length=1, max_length=256)
    family: Optional[Literal[FAMILIES]] = None  # type: ignore[valid-type]
    kit_key: Optional[str] = Field(default=None, min_length=1, max_length=256)
    signature_hex_case: Optional[Literal["upper", "lower"]] = None
    kit_base_url: Optional[str] = Field(default=None, max_length=1024)
    kit_sign_hex_case: Optional[Literal["upper", "lower"]] = None
    kit_rsa_padding: Optional[Literal[RSA_PADDINGS]] = None  # type: ignore[valid-type]
    kit_org_info: Optional[Literal["string", "list"]] = None
    encrypt_buyer_contact: Optional[bool] = None
    aes_key_bits: Optional[Literal[128, 256]] = None
    license_field: Optional[str] = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    license_activities: Optional[dict[Literal[LICENSE_EVENTS], ActivityName]] = None  # type: ignore[valid-type]
    content_type: Optional[str] = Field(default=None, min_length=1, max_length=128)
    purchase_on_exhaust: Optional[Literal["unsubscribe", "hold"]] = None
    retry_overrides: Optional[dict[Literal[POLICY_NAMES], RetryOverride]] = None  # type: ignore[valid-type]
    contact_email: Optional[str] = Field(default=None, max_length=128)
    contact_mobile: Optional[str] = Field(default=None, max_length=32)
    faults: Optional[dict[Literal[FAULT_KINDS], Rate]] = None  # type: ignore[valid-type]
    slow_send_s: Optional[float] = Field(default=None, ge=0, le=MAX_SLOW_SEND_S, allow_inf_nan=False)

    _url = field_validator("production_url", "kit_base_url")(_http_url)


class MerchantInput(MerchantPatch):
    id: Optional[str] = Field(default=None, pattern=SLUG)
    name: str = Field(min_length=1, max_length=128)
    production_url: str = Field(max_length=1024)
    access_key: str = Field(min_length=1, max_length=256)
    family: Literal[FAMILIES] = "saas_v2_slim"  # type: ignore[valid-type]


class ProductPatch(_Input):
    name: Optional[str] = Field(default=None, min_length=1, max_length=255)
    trial_days: Optional[int] = Field(default=None, ge=1, le=365)
    upgradable: Optional[bool] = None
    allows_change: Optional[bool] = None
    linear_unit: Optional[str] = Field(default=None, max_length=32)
    price: Optional[str] = Field(default=None, pattern=r"^\d{1,7}(\.\d{1,2})?$")
    grace_days: Optional[int] = Field(default=None, ge=0, le=365)
    retention_days: Optional[int] = Field(default=None, ge=0, le=365)
    expiry_rounding: Optional[Literal["none", "end_of_day_gmt8"]] = None
    sale_state: Optional[Literal["on_sale", "discontinued", "withdrawn"]] = None


class ProductInput(ProductPatch):
    id: Optional[str] = Field(default=None, pattern=SLUG)
    code: Optional[str] = Field(default=None, pattern=SLUG)
    merchant_id: str = Field(min_length=1, max_length=64)
    sku_code: Optional[str] = Field(default=None, min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    charging_mode: Literal[CHARGING_MODES]  # type: ignore[valid-type]
    period_type: Optional[Literal[PERIOD_TYPES]] = Field(default=None, validate_default=True)  # type: ignore[valid-type]

    @field_validator("period_type")
    @classmethod
    def _period_matches_mode(cls, value: Optional[str], info: ValidationInfo) -> Optional[str]:
        mode = info.data.get("charging_mode")
        if mode == "PERIOD" and value is None:
            raise ValueError("is required when charging_mode is PERIOD")
        if mode not in (None, "PERIOD") and value is not None:
            raise ValueError(f"must be empty when charging_mode is {mode}")
        return value


class BuyerInput(_Input):
    customer_id: Optional[str] = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    customer_name: Optional[str] = Field(default=None, max_length=64)
    customer_real_name: Optional[str] = Field(default=None, max_length=64)
    customer_type: Optional[Literal[0, 1]] = None
    mobile_phone: Optional[str] = Field(default=None, max_length=32)
    email: Optional[str] = Field(default=None, max_length=128)


class ExtendParam(_Input):
    name: str = Field(min_length=1, max_length=64)
    value: str = Field(max_length=256)


class OrderInput(_Input):
    product: str = Field(min_length=1, max_length=64, description="productId or product code")
    period_number: Optional[int] = Field(default=None, ge=1, le=1000)
    linear_value: Optional[int] = Field(default=None, ge=1, le=10_000_000)
    trial: bool = False
    buyer: Optional[BuyerInput] = None
    test_flag: Literal["0", "1"] = "0"
    extend_params: Optional[list[ExtendParam]] = Field(default=None, max_length=3,
                                                       description="joint-operation orderInfo.extendParams")


class RenewInput(_Input):
    period_number: int = Field(default=1, ge=1, le=1000)
    product: Optional[str] = Field(default=None, min_length=1, max_length=64)
    linear_value: Optional[int] = Field(default=None, ge=1, le=10_000_000)


class ConvertInput(_Input):
    period_number: int = Field(default=1, ge=1, le=1000)
    product: Optional[str] = Field(default=None, min_length=1, max_length=64)


class UpgradeInput(_Input):
    product: Optional[str] = Field(default=None, min_length=1, max_length=64)
    linear_value: Optional[int] = Field(default=None, ge=1, le=10_000_000)

    @model_validator(mode="after")
    def _something_changes(self) -> "UpgradeInput":
        if self.product is None and self.linear_value is None:
            raise ValueError("give product or linear_value: an upgrade must change something")
        return self


class LicenceAsyncInput(_Input):
    device_fingerprint: Optional[str] = Field(default=None, max_length=1024)
    event_id: Optional[str] = Field(default=None, min_length=1, max_length=64)


class ManualLicenceInput(_Input):
    license: str = Field(min_length=1, max_length=64)
    instance_id: Optional[str] = Field(default=None, min_length=1, max_length=64)

"""SQLModel tables. Times are naive UTC; "emulated" times come from the emulator clock.

The tables hold state only; the rules that change it live in ``emulator.marketplace`` and
``emulator.delivery``.
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import NaiveDatetime
from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def _json(**kwargs: Any) -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False), **kwargs)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Merchant(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    production_url: str
    access_key: str
    family: str = "saas_v2_slim"
    kit_key: Optional[str] = None
    signature_hex_case: str = "upper"
    # Joint-operation switches (PROTOCOL §3, §5, §15.1); defaults are the documented readings.
    kit_base_url: Optional[str] = None  # overrides <production URL> as the root of /produceAPI/v2/<name>
    kit_sign_hex_case: str = "lower"
    kit_rsa_padding: str = "pkcs1v15"
    kit_org_info: str = "string"  # allOrgSync orgInfo: a JSON string, or a real array ("list")
    encrypt_buyer_contact: bool = False  # AES for buyerInfo.mobilePhone / email
    aes_key_bits: int = 256
    # License 2.0 switches (PROTOCOL §6): the reply member carrying the licence, activity renames
    license_field: str = "license"
    license_activities: dict = _json()  # logical event -> activity name, e.g. {"upgrade": "upgradeInstance"}
    content_type: str = "application/json;charset=utf8"
    purchase_on_exhaust: str = "unsubscribe"
    retry_overrides: dict = _json()
    builtin_stub: bool = False  # points at the built-in demo merchant; its URL follows the bound port
    contact_email: Optional[str] = None
    contact_mobile: Optional[str] = None
    # Outbound faults on normal traffic (delivery.faults): kind -> rate per attempt, and the hold of slow_send.
    faults: dict = _json()
    slow_send_s: float = 3.0
    created_at: NaiveDatetime


class Product(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)  # the marketplace productId
    code: str = Field(index=True, unique=True, max_length=64)  # a friendly handle
    merchant_id: str = Field(foreign_key="merchant.id", index=True)
    sku_code: str = Field(max_length=64)
    name: str
    charging_mode: str  # PERIOD | ONE_TIME | ON_DEMAND
    period_type: Optional[str] = None  # hour | day | month | year for PERIOD
    trial_days: Optional[int] = None
    upgradable: bool = False
    allows_change: bool = False
    linear_unit: Optional[str] = None
    price: str = "0"
    grace_days: int = 15
    retention_days: int = 15
    expiry_rounding: str = "none"  # none | end_of_day_gmt8
    sale_state: str = "on_sale"  # on_sale | discontinued | withdrawn
    frozen: bool = False  # frozen and hidden after failing dial tests (PROTOCOL §11.6)
    fail_streak: int = 0
    created_at: NaiveDatetime


class Order(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    merchant_id: str = Field(foreign_key="merchant.id", index=True)
    order_type: str  # NEW | TRIAL | TRIAL_TO_FORMAL | RENEWAL | CHANGE | UNSUBSCRIBE
    status: str  # paid | delivered | undelivered | failed | unsubscribed
    instance_key: Optional[str] = Field(default=None, index=True)
    related_order_id: Optional[str] = None
    buyer: dict = _json()
    test_flag: str = "0"
    created_at: NaiveDatetime
    seq: Optional[int] = Field(default=None, index=True)

    __table_args__ = (Index("ix_order_merchant_seq", "merchant_id", "seq"),)


class OrderLine(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(foreign_key="order.id", index=True)
    product_id: str = Field(foreign_key="product.id")
    sku_code: str
    charging_mode: str
    period_type: Optional[str] = None
    period_number: Optional[int] = None
    linear_value: Optional[int] = None
    amount: str = "0"
    previous_expire_at: Optional[NaiveDatetime] = None
    expire_at: Optional[NaiveDatetime] = None


class Instance(SQLModel, table=True):
    """A purchased resource, keyed by the order line of its new purchase."""

    key: str = Field(primary_key=True, max_length=64)
    merchant_id: str = Field(foreign_key="merchant.id", index=True)
    order_id: str = Field(index=True)
    product_id: str = Field(foreign_key="product.id")
    linear_value: Optional[int] = None
    state: str  # pending | active | frozen | released | failed
    frozen_reason: Optional[str] = None  # expired | manual
    trial: bool = False
    instance_id: Optional[str] = Field(default=None, max_length=128)  # returned by the merchant
    expire_at: Optional[NaiveDatetime] = None
    next_event: Optional[str] = None  # expire | release
    next_event_at: Optional[NaiveDatetime] = Field(default=None, index=True)
    ready: bool = False
    family: str = "saas_v2_slim"  # the merchant's protocol family when it was bought; its calls keep it
    created_at: NaiveDatetime
    released_at: Optional[NaiveDatetime] = None

    __table_args__ = (
        Index("ix_instance_merchant_instance_id", "merchant_id", "instance_id"),
        Index("ix_instance_created_key", "created_at", "key"),
        Index("ix_instance_merchant_created_key", "merchant_id", "created_at", "key"),
        Index("ix_instance_instance_id", "instance_id"),  # the console's search
    )


class Delivery(SQLModel, table=True):
    """One logical callback with its retry schedule (PROTOCOL §9)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: str = Field(foreign_key="merchant.id", index=True)
    instance_key: Optional[str] = Field(default=None, index=True)
    order_id: Optional[str] = Field(default=None, index=True)
    kind: str = Field(index=True)  # the domain's CallbackKind
    activity: str
    family: Optional[str] = None  # the protocol family that shapes and signs its requests (None: slim)
    policy: str
    params: dict = _json()
    test_flag: Optional[str] = None  # None: the member is omitted (changeInstanceCheck)
    status: str = Field(index=True)  # scheduled | waiting | succeeded | exhausted | cancelled
    schedule_start: NaiveDatetime
    first_delay_s: int = 0
    interval_s: int = 0
    slots_total: int = 1
    slots_used: int = 0
    manual_pending: int = 0
    resent_after_success: bool = False  # a failed resend must not undo the earlier success
    next_attempt_at: Optional[NaiveDatetime] = Field(default=None, index=True)
    blocked_by: Optional[int] = Field(default=None, index=True)
    on_success: Optional[str] = None
    on_exhaust: Optional[str] = None
    attempt_count: int = 0
    last_verdict: Optional[str] = None
    note: Optional[str] = None
    created_at: NaiveDatetime
    finished_at: Optional[NaiveDatetime] = None
    # The claim of the process sending its next attempt (wall-clock expiry); see delivery.dispatcher.
    lease_owner: Optional[str] = Field(default=None, index=True)
    lease_until: Optional[NaiveDatetime] = None

    __table_args__ = (
        Index("ix_delivery_due", "status", "next_attempt_at", "id"),
        # the claim's per-instance checks look up one instance's deliveries (claims._earlier_sibling)
        Index("ix_delivery_instance_due", "instance_key", "status", "next_attempt_at", "id"),
        # the console's filters: a time range, test traffic (dial tests) hidden or alone
        Index("ix_delivery_created_id", "created_at", "id"),
        Index("ix_delivery_test_flag_id", "test_flag", "id"),
    )


class Attempt(SQLModel, table=True):
    """One HTTP request of a delivery: the exact request, the reply and the verdict."""

    id: Optional[int] = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    number: int
    manual: bool = False
    state: str  # sending | done | interrupted
    due_at: NaiveDatetime
    sent_at: NaiveDatetime  # emulated
    sent_wall: NaiveDatetime
    business_id: Optional[str] = None
    method: str = "POST"
    url: str
    request_headers: dict = _json()
    request_body: str = ""
    response_status: Optional[int] = None
    response_headers: dict = _json()
    response_body: Optional[str] = None
    elapsed_ms: Optional[float] = None
    error: Optional[str] = None
    passed: Optional[bool] = None
    failures: list = _json_list()
    warnings: list = _json_list()
    fault: Optional[str] = None  # the outbound faults of this request, comma-separated (delivery.faults)

    __table_args__ = (
        UniqueConstraint("delivery_id", "number"),
        Index("ix_attempt_business_id", "business_id"),  # the console's search
    )


class ClockRow(SQLModel, table=True):
    """The deployment's one clock; ``version`` grows with every change so replicas notice it."""

    id: int = Field(default=1, primary_key=True)
    mode: str
    speed: float
    anchor_emulated: NaiveDatetime
    anchor_wall: NaiveDatetime
    version: int = 0



class ApiCredential(SQLModel, table=True):
    """An AK/SK pair the emulator issued to a merchant for the open APIs (PROTOCOL §12.1)."""

    ak: str = Field(primary_key=True, max_length=64)
    sk: str
    merchant_id: str = Field(foreign_key="merchant.id", index=True)
    created_at: NaiveDatetime
    revoked_at: Optional[NaiveDatetime] = None


class InboundCall(SQLModel, table=True):
    """One call a merchant made to the open APIs: request, response and verdict (PROTOCOL §12.1)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    request_id: str = Field(index=True)
    merchant_id: Optional[str] = Field(default=None, index=True)
    ak: Optional[str] = None
    api: str  # query_order | usage_push | license_activate | ... | unknown
    at: NaiveDatetime  # emulated
    wall: NaiveDatetime
    method: str
    path: str
    query: str = ""
    request_headers: dict = _json()
    request_body: str = ""
    status: int
    response_body: str = ""
    result_code: str = ""
    accepted: bool = False
    verdict: str = ""
    detail: Optional[str] = None
    elapsed_ms: float = 0.0
    order_id: Optional[str] = None  # the orderId a Query Order call asked for

    __table_args__ = (Index("ix_inboundcall_merchant_order", "merchant_id", "order_id"),)


class UsageRecord(SQLModel, table=True):
    """An accepted usage record of an on-demand instance (PROTOCOL §12.7)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    merchant_id: str = Field(foreign_key="merchant.id", index=True)
    instance_key: str = Field(index=True)
    instance_id: str
    metering_sn: str
    record_time: NaiveDatetime
    begin_time: NaiveDatetime
    end_time: NaiveDatetime
    usage_value: str
    relate_pkg_instance: Optional[str] = None
    call_id: Optional[int] = None
    accepted_at: NaiveDatetime

    __table_args__ = (UniqueConstraint("merchant_id", "metering_sn"),)


class UsageNonce(SQLModel, table=True):
    """A usage-push ``nonce`` already used, kept until replaying it can no longer pass the ``ts``
    window (PROTOCOL §12.7), so a replay is refused across restarts too. Times are real wall time."""

    merchant_id: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(primary_key=True, max_length=64)
    expires_at: NaiveDatetime = Field(index=True)


class LicenseCode(SQLModel, table=True):
    """An authorization code the License open APIs answer for (PROTOCOL §12.8)."""

    code: str = Field(primary_key=True, max_length=64)
    merchant_id: str = Field(foreign_key="merchant.id", index=True)
    product_id: str = Field(foreign_key="product.id")
    sku_code: str
    status: str
    test: bool = True
    effective_at: NaiveDatetime
    expire_at: Optional[NaiveDatetime] = None
    activated_at: Optional[NaiveDatetime] = None
    last_heartbeat_at: Optional[NaiveDatetime] = None
    third_party_account: Optional[str] = None
    ip: Optional[str] = None
    instance_key: Optional[str] = Field(default=None, index=True)  # the License order's instance, if any
    created_at: NaiveDatetime


class OAuthApp(SQLModel, table=True):
    """An application credential of the unified login (PROTOCOL §13.9)."""

    client_id: str = Field(primary_key=True, max_length=64)
    client_secret: str
    merchant_id: str = Field(foreign_key="merchant.id", index=True)
    name: str
    login_url: str
    public_key: Optional[str] = None
    tenant_id: str
    tenant_code: str
    tenant_name: str
    created_at: NaiveDatetime


class OAuthUser(SQLModel, table=True):
    """A test user (test account) allowed to log in to one application."""

    id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(foreign_key="oauthapp.client_id", index=True)
    user_name: str
    name: str
    email: Optional[str] = None
    mobile: Optional[str] = None
    role: str = "user"
    password: str
    tenant_id: Optional[str] = None  # a buyer's enterprise (authSync grant); None: the app's test tenant
    created_at: NaiveDatetime

    __table_args__ = (UniqueConstraint("client_id", "user_name"),)


class OAuthCode(SQLModel, table=True):
    code: str = Field(primary_key=True)
    client_id: str = Field(index=True)
    user_id: str
    redirect_uri: str
    redirect_uri_sent: bool = False
    session_id: Optional[str] = None
    expires_at: NaiveDatetime
    used_at: Optional[NaiveDatetime] = None


class OAuthToken(SQLModel, table=True):
    """An access token, or a refresh token (``kind``), with its expiry on the emulator clock."""

    token: str = Field(primary_key=True)
    kind: str  # access | refresh
    client_id: str = Field(index=True)
    user_id: str
    code: Optional[str] = Field(default=None, index=True)
    expires_at: NaiveDatetime
    revoked_at: Optional[NaiveDatetime] = None
    created_at: NaiveDatetime


class SsoSession(SQLModel, table=True):
    id: str = Field(primary_key=True)
    user_id: str
    client_id: str
    expires_at: NaiveDatetime


class OAuthEvent(SQLModel, table=True):
    """The login journal: who logged in to which app, which tokens were issued, refreshed, refused."""

    id: Optional[int] = Field(default=None, primary_key=True)
    at: NaiveDatetime
    client_id: Optional[str] = Field(default=None, index=True)
    user: Optional[str] = None
    event: str
    detail: str = ""


class DebugCase(SQLModel, table=True):
    """A saved debugging case of a product (PROTOCOL §11.3, §11.7); dial tests replay these."""

    id: Optional[int] = Field(default=None, primary_key=True)
    product_id: str = Field(foreign_key="product.id", index=True)
    case_name: str  # create | query | update | status | upgrade | change_check | release
    activity: str
    params: dict = _json()
    url: str
    saved_at: NaiveDatetime

    __table_args__ = (UniqueConstraint("product_id", "case_name"),)


class DialRun(SQLModel, table=True):
    """One dial test of one product; (product, slot, trigger) is claimed once across processes."""

    id: Optional[int] = Field(default=None, primary_key=True)
    product_id: str = Field(foreign_key="product.id", index=True)
    slot_at: NaiveDatetime
    trigger: str  # schedule | manual
    state: str  # claimed | done
    verdict: Optional[str] = None  # pass | fail | skipped
    reason: Optional[str] = None
    streak: int = 0
    started_at: NaiveDatetime
    finished_at: Optional[NaiveDatetime] = None

    __table_args__ = (UniqueConstraint("product_id", "slot_at", "trigger"),)


class DialCaseResult(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="dialrun.id", index=True)
    case_name: str
    activity: str
    delivery_id: Optional[int] = None
    passed: bool
    verdict: str


class Notification(SQLModel, table=True):
    """The merchant's inbox: e-mail, SMS and in-site messages the marketplace sent (PROTOCOL §11.5)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    created_at: NaiveDatetime
    channel: str  # email | sms | site
    to: str
    subject: str
    body: str
    merchant_id: str = Field(index=True)
    product_id: Optional[str] = None
    run_id: Optional[int] = None
    smtp_sent: bool = False


class DialCursor(SQLModel, table=True):
    """The last scheduled slot instant that was handled (shared by processes on one store)."""

    id: int = Field(default=1, primary_key=True)
    last_slot_at: NaiveDatetime


class KitTenant(SQLModel, table=True):
    """An enterprise a buyer bound a joint-operation app to, or the test tenant of a credential
    application (``instance_key`` None); the kit syncs tell the merchant about it (PROTOCOL §5)."""

    tenant_id: str = Field(primary_key=True, max_length=64)
    merchant_id: str = Field(foreign_key="merchant.id", index=True)
    client_id: str = Field(foreign_key="oauthapp.client_id", index=True)
    instance_key: Optional[str] = Field(default=None, index=True)
    tenant_code: str
    name: str
    domain_name: str
    test_flag: int = 0
    app_id: str  # the appId of applicationSync and authSync
    created_at: NaiveDatetime


class KitOrg(SQLModel, table=True):
    """A department of an enterprise."""

    tenant_id: str = Field(foreign_key="kittenant.tenant_id", primary_key=True, max_length=64)
    org_code: str = Field(primary_key=True, max_length=64)
    name: str
    parent_code: Optional[str] = None
    created_at: NaiveDatetime


class KitUser(SQLModel, table=True):
    """A member of an enterprise; ``granted`` users may use the app and log in to it."""

    tenant_id: str = Field(foreign_key="kittenant.tenant_id", primary_key=True, max_length=64)
    user_name: str = Field(primary_key=True, max_length=64)
    name: str
    org_code: str
    role: str = "user"
    enable: bool = True
    position: Optional[str] = None
    employee_code: Optional[str] = None
    employee_type: Optional[str] = None
    email: Optional[str] = None
    mobile: Optional[str] = None
    password: str
    granted: bool = False
    login_user_id: Optional[str] = None  # the OAuthUser row that lets a granted user log in
    created_at: NaiveDatetime


class KitCall(SQLModel, table=True):
    """Links a kit-sync delivery to its enterprise: a step of the bind chain, an admin edit, or a
    repeat of an earlier call that checks the merchant's idempotency."""

    delivery_id: int = Field(foreign_key="delivery.id", primary_key=True)
    tenant_id: str = Field(index=True, max_length=64)
    purpose: str  # chain | edit | repeat
    step: int = 0  # position in the bind chain
    repeat_of: Optional[int] = None
    created_at: NaiveDatetime


class GatewayBackend(SQLModel, table=True):
    """The backend of an Agents (``agents``) or API (``api``) product behind the gateway (PROTOCOL §14)."""

    product_id: str = Field(foreign_key="product.id", primary_key=True, max_length=64)
    kind: str  # agents (billed per token from usage) | api (billed per forwarded call)
    backend_url: str
    http_method: str = "POST"  # GET | POST | ANY
    auth_mode: str = "aksk"  # aksk (the §14.1 JWT is added) | own (the merchant's own scheme)
    access_key: Optional[str] = None
    secret_key: Optional[str] = None
    created_at: NaiveDatetime
    updated_at: NaiveDatetime


class GatewayKey(SQLModel, table=True):
    """The key a buyer calls the gateway with: one per purchased instance."""

    key: str = Field(primary_key=True, max_length=64)
    instance_key: str = Field(unique=True, max_length=64)
    order_id: str = Field(index=True, max_length=64)  # the instance's purchase order
    created_at: NaiveDatetime


class GatewayCall(SQLModel, table=True):
    """One call through the gateway: what the buyer sent, what was forwarded, the reply, the verdict
    and what was billed. Refused calls are recorded too (without an order when none was found)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    request_id: str = Field(index=True, max_length=64)  # the X-Request-Id sent to the backend
    product_id: Optional[str] = None
    merchant_id: Optional[str] = None
    order_id: Optional[str] = None
    instance_key: Optional[str] = None
    customer_id: Optional[str] = None
    kind: Optional[str] = None
    at: NaiveDatetime  # emulated
    wall: NaiveDatetime
    method: str
    path: str
    query: str = ""
    target_url: Optional[str] = None
    request_headers: dict = _json()
    request_body: str = ""
    status: Optional[int] = None  # the backend's
    response_headers: dict = _json()
    response_body: str = ""
    streamed: bool = False
    events: int = 0
    caller_status: int = 0  # what the buyer got
    error: Optional[str] = None  # the error code given to the buyer, if any
    passed: bool = False
    failures: list = _json_list()
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    billed_tokens: int = 0
    billed_calls: int = 0
    elapsed_ms: float = 0.0

    __table_args__ = (
        Index("ix_gatewaycall_order_id", "order_id", "id"),
        Index("ix_gatewaycall_merchant_id", "merchant_id", "id"),
        Index("ix_gatewaycall_product_id", "product_id", "id"),
    )

"""The certification battery as data: every case names what it checks, the spec section it comes
from, whether a listing needs it, and the families it applies to. One definition drives the
command line, the control API and the pytest helper."""

from __future__ import annotations

from dataclasses import dataclass

SLIM, JOINT, LICENSE, V1 = "saas_v2_slim", "saas_v2_joint", "license_v2", "saas_v1"
ALL = frozenset({SLIM, JOINT, LICENSE, V1})
SIGNED_POST = frozenset({SLIM, JOINT, LICENSE})  # §2a URL signature: the negative probes apply


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    section: str
    required: bool = True
    families: frozenset[str] = ALL

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]


BATTERY: tuple[Case, ...] = (  # in the order they run: probes on the live instance, then its life
    Case("lifecycle.purchase", "A new purchase is acknowledged with an instanceId", "§4 newInstance, §5, §6, §7"),
    # idempotency probes
    Case("idempotency.new_business_id", "The same order with a new businessId returns the same instanceId",
         "§4 R1, §8 I1"),
    Case("idempotency.identical_body", "An identical body sent again (new nonce and timestamp) is answered 000000 "
         "with the same instanceId", "§4 R1, §2a", families=SIGNED_POST),
    # requests a correct merchant must refuse, or must accept
    Case("negative.wrong_signature", "A request with a wrong signature is refused", "§2a, §8 000001",
         families=SIGNED_POST),
    Case("negative.stale_timestamp", "A request signed 10 minutes ago is refused (60 s window)", "§2a",
         families=SIGNED_POST),
    Case("negative.replayed_nonce", "A request replayed with the same nonce is refused (recommended)", "§2a",
         required=False, families=SIGNED_POST),
    Case("negative.unknown_activity", "An unknown activity is answered with an error code, not 000000", "§8 E2",
         families=SIGNED_POST),
    Case("negative.extra_fields", "Members the merchant does not know are ignored", "§2a, §4",
         families=SIGNED_POST),
    # kit syncs, when the kit key and the login application's public key are given
    Case("kit.bind_chain", "Binding an enterprise: tenantSync, applicationSync (clientSecret decrypted), allOrgSync "
         "and authSync are each answered 000000", "§2b, §3, §5", families=frozenset({JOINT})),
    Case("kit.repeat", "A kit call sent again with the identical body is answered 000000", "§5 idempotency keys",
         families=frozenset({JOINT})),
    # every activity with valid data, on the lifecycle of the order
    Case("lifecycle.ready", "The new instance is reported ready (queryInstance polling)", "§4 queryInstance, §9",
         families=frozenset({SLIM})),
    Case("lifecycle.renewal", "A renewal is acknowledged", "§4 refreshInstance, §5, §6, §7"),
    Case("lifecycle.upgrade", "An upgrade is acknowledged", "§4 upgradeInstance, §5, §6, §7"),
    Case("lifecycle.expiry", "Expiry (freeze) is acknowledged", "§4 updateInstanceStatus, §5, §6, §7"),
    Case("lifecycle.unfreeze", "A renewal in grace unfreezes the instance", "§4 updateInstanceStatus, §10",
         families=frozenset({SLIM})),
    Case("lifecycle.release", "Release is acknowledged", "§4 releaseInstance, §5, §6, §7"),
    Case("idempotency.release_twice", "Releasing an already released instance is answered 000000", "§4 R1, §5"),
    # timing
    Case("timing.within_5s", "Every reply arrives within 5 s", "§1, §8 T2"),
)


def cases_for(family: str) -> list[Case]:
    return [case for case in BATTERY if family in case.families]


LOGIN: tuple[Case, ...] = (  # a merchant web app's unified-login callback, judged from outside (§13)
    Case("login.happy_path", "Start, authorize, log in: the callback redeems the code, calls userinfo with the "
         "issued token and logs the user in", "§13"),
    Case("login.state_mismatch", "A callback with a state the app did not issue is refused: the code is not "
         "redeemed and nobody is logged in", "§13"),
    Case("login.code_of_another_client", "A valid code issued to another client, with the app's own state, "
         "logs nobody in", "§13"),
    Case("login.reused_code", "The same code and state again after a login: no second token, nobody logged in "
         "again", "§13"),
    Case("login.forged_token", "A code whose redemption answers a token the marketplace never issued logs nobody "
         "in (userinfo refuses the token)", "§13"),
)

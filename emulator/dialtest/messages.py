"""Notification texts of the dial tests (PROTOCOL §11.5), one per channel."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    channel: str
    subject: str
    body: str


def run_failed(merchant: str, product: str, product_id: str, slot: str, url: str, failures: list[tuple[str, str, str]],
               case_count: int, streak: int, threshold: int) -> list[Message]:
    lines = "\n".join(f"  - {name} ({activity}): {reason}" for name, activity, reason in failures)
    first = f"{failures[0][0]}: {failures[0][2]}" if failures else "—"
    return [
        Message("email", f"[KooGallery] Interface dial test failed: {product} ({product_id})",
                f"Dear {merchant},\nthe scheduled interface dial test of {slot} (local time) failed for your product "
                f'"{product}" ({product_id}).\nInterface address: {url}\nFailed cases: {len(failures)} of {case_count}\n'
                f"{lines}\nConsecutive failing days: {streak} of {threshold}. After {threshold} consecutive failing "
                "days the product's transactions are frozen and the product is hidden from customers.\n"
                "Please fix the interface, then re-run your debugging cases."),
        Message("sms", "Dial test failed",
                f'[KooGallery] Dial test of "{product}" failed at {slot} ({len(failures)} case(s)). Failing days: '
                f"{streak}/{threshold}. Please check your production interface."),
        Message("site", "Interface dial test failed",
                f"{product} ({product_id}) failed {len(failures)} of {case_count} debugging cases at {slot}. "
                f"First failure: {first}. Failing days: {streak}/{threshold}."),
    ]


def frozen(product: str, product_id: str, threshold: int) -> list[Message]:
    subject = f"[KooGallery] {product} frozen after {threshold} consecutive days of failed dial tests"
    body = (f"Transactions of {product} ({product_id}) are frozen and the product is hidden from customers. "
            "It is restored after a day on which all dial tests pass.")
    return [Message(channel, subject, body) for channel in ("email", "sms", "site")]


def unfrozen(product: str, product_id: str, day: str) -> list[Message]:
    subject = f"[KooGallery] {product} restored: dial tests passed on {day}"
    body = f"{product} ({product_id}) is on sale and visible again."
    return [Message(channel, subject, body) for channel in ("email", "sms", "site")]

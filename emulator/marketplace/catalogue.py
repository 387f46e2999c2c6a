"""Merchants and products: create, read, update, delete."""

from __future__ import annotations

import re
from typing import Optional, Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..clock import Clock
from ..store import Store
from ..store.tables import ApiCredential, Delivery, Instance, Merchant, OAuthApp, Order, Product
from .errors import Conflict, InvalidInput, NotFound
from .ids import new_product_id, new_sku_code
from .inputs import MerchantInput, MerchantPatch, ProductInput, ProductPatch
from .targets import OwnAddress, self_target_reason


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (slug or "merchant")[:48]


async def get_merchant(session: AsyncSession, merchant_id: str) -> Merchant:
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(f"merchant {merchant_id!r} does not exist", field="merchant_id")
    return merchant


async def get_product(session: AsyncSession, ref: str, field: str = "product") -> Product:
    """A product by productId or by its code."""
    product = await session.get(Product, ref)
    if product is None:
        product = (await session.exec(select(Product).where(Product.code == ref))).first()
    if product is None:
        raise product_not_found(ref, field)
    return product


def product_not_found(ref: str, field: str = "product") -> NotFound:
    return NotFound(f"product {ref!r} does not exist (give a productId or a product code)", field=field)


class Catalogue:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.own_address: Optional[OwnAddress] = None  # set once the server is bound

    def _check_target(self, url: Optional[str], field: str = "production_url") -> None:
        reason = None if url is None else self_target_reason(url, self.own_address)
        if reason:
            raise InvalidInput(f"{field} {reason}", field=field)

    # -- merchants -------------------------------------------------------------------------
    async def list_merchants(self) -> Sequence[Merchant]:
        async with self.store.read() as session:
            return (await session.exec(select(Merchant).order_by(Merchant.created_at, Merchant.id))).all()

    async def merchant(self, merchant_id: str) -> Merchant:
        async with self.store.read() as session:
            return await get_merchant(session, merchant_id)

    async def create_merchant(self, data: MerchantInput) -> Merchant:
        self._check_target(data.production_url)
        self._check_target(data.kit_base_url, "kit_base_url")
        async with self.store.write() as session:
            merchant_id = data.id or await self._free_merchant_id(session, _slug(data.name))
            if await session.get(Merchant, merchant_id) is not None:
                raise Conflict(f"merchant {merchant_id!r} already exists", field="id")
            values = data.model_dump(exclude_none=True, exclude={"id", "retry_overrides"})
            merchant = Merchant(
                id=merchant_id,
                created_at=self.clock.now(),
                retry_overrides=_overrides(data.retry_overrides),
                **values,
            )
            session.add(merchant)
            return merchant

    async def update_merchant(self, merchant_id: str, patch: MerchantPatch) -> Merchant:
        self._check_target(patch.production_url)
        self._check_target(patch.kit_base_url, "kit_base_url")
        async with self.store.write() as session:
            merchant = await get_merchant(session, merchant_id)
            for name, value in patch.model_dump(exclude_unset=True, exclude={"retry_overrides"}).items():
                if value is None and name not in ("kit_key", "kit_base_url", "contact_email", "contact_mobile"):
                    raise InvalidInput(f"{name} cannot be null", field=name)
                setattr(merchant, name, value)
            if "retry_overrides" in patch.model_fields_set:
                merchant.retry_overrides = _overrides(patch.retry_overrides)
            session.add(merchant)
            return merchant

    async def delete_merchant(self, merchant_id: str) -> None:
        async with self.store.write() as session:
            merchant = await get_merchant(session, merchant_id)
            held = []
            for table, what in ((Order, "orders"), (Delivery, "deliveries"), (OAuthApp, "unified-login applications"),
                                (ApiCredential, "AK/SK credentials")):
                count = (await session.exec(select(func.count()).select_from(table)
                                            .where(table.merchant_id == merchant_id))).one()  # type: ignore[attr-defined]
                if count:
                    held.append(f"{count} {what}")
            if held:
                raise Conflict(f"merchant {merchant_id!r} has {', '.join(held)}; reset the emulator to remove them "
                               "first", field="merchant_id")
            for product in (await session.exec(select(Product).where(Product.merchant_id == merchant_id))).all():
                await session.delete(product)
            try:
                await session.flush()
                await session.delete(merchant)
                await session.flush()
            except IntegrityError:
                raise Conflict(f"merchant {merchant_id!r} still has records (dial tests of its products); reset the "
                               "emulator to remove them first", field="merchant_id") from None

    async def instance_families(self, merchant_id: str) -> dict[str, int]:
        """How many live instances (neither released nor failed) of the merchant each protocol family keeps."""
        async with self.store.read() as session:
            rows = (await session.exec(
                select(Instance.family, func.count()).where(Instance.merchant_id == merchant_id)
                .where(col(Instance.state).not_in(("released", "failed"))).group_by(Instance.family)
            )).all()
            return {family: count for family, count in rows}

    @staticmethod
    async def _free_merchant_id(session: AsyncSession, base: str) -> str:
        candidate, n = base, 1
        while await session.get(Merchant, candidate) is not None:
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    # -- products --------------------------------------------------------------------------
    async def list_products(self, merchant_id: Optional[str] = None) -> Sequence[Product]:
        async with self.store.read() as session:
            query = select(Product).order_by(Product.created_at, Product.code)
            if merchant_id:
                query = query.where(Product.merchant_id == merchant_id)
            return (await session.exec(query)).all()

    async def product(self, ref: str) -> Product:
        async with self.store.read() as session:
            return await get_product(session, ref)

    async def create_product(self, data: ProductInput) -> Product:
        async with self.store.write() as session:
            await get_merchant(session, data.merchant_id)
            product_id = data.id or new_product_id()
            code = data.code or product_id
            if await session.get(Product, product_id) is not None:
                raise Conflict(f"product {product_id!r} already exists", field="id")
            clash = (await session.exec(select(Product).where(col(Product.code) == code))).first()
            if clash is not None:
                raise Conflict(f"product code {code!r} is already used by {clash.id}", field="code")
            values = data.model_dump(exclude_none=True, exclude={"id", "code", "sku_code"})
            product = Product(
                id=product_id, code=code, sku_code=data.sku_code or new_sku_code(),
                created_at=self.clock.now(), **values,
            )
            session.add(product)
            return product

    async def update_product(self, ref: str, patch: ProductPatch) -> Product:
        async with self.store.write() as session:
            product = await get_product(session, ref)
            nullable = {"trial_days", "linear_unit"}
            for name, value in patch.model_dump(exclude_unset=True).items():
                if value is None and name not in nullable:
                    raise InvalidInput(f"{name} cannot be null", field=name)
                setattr(product, name, value)
            session.add(product)
            return product

    async def delete_product(self, ref: str) -> None:
        async with self.store.write() as session:
            product = await get_product(session, ref)
            used = (await session.exec(select(func.count()).select_from(Instance).where(Instance.product_id == product.id))).one()
            if used:
                raise Conflict(f"product {product.code!r} is used by {used} instances", field="product")
            await session.delete(product)


def _overrides(overrides: Optional[dict]) -> dict:
    if not overrides:
        return {}
    return {name: value.model_dump(exclude_none=True) for name, value in overrides.items()}

"""SQLAlchemy 2 typed models: plans, units, indicators, figures and their revision history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored exactly: NUMERIC on PostgreSQL, text on SQLite (which has no decimal type)."""

    impl = String(40)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """NUMERIC where the database has it, text elsewhere."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(28, 8))
        return dialect.type_descriptor(String(40))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        """Store the Decimal as is on PostgreSQL, as its exact text elsewhere."""
        if value is None:
            return None
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Read back a Decimal."""
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC: timestamptz on PostgreSQL, naive UTC text on SQLite (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Aware values only; SQLite gets them as naive UTC so that they compare and sort correctly."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value if dialect.name == "postgresql" else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Always an aware datetime."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = MetaData(naming_convention=NAMING)


class PlanRow(Base):
    """A loaded plan file: its code and the exact text it was loaded from."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    source_path: Mapped[str] = mapped_column(Text)
    source_text: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64), default="")  # identifies the text without reading it
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class UnitRow(Base):
    """A unit of a plan; kept (inactive) when a later plan file drops it, so its reports stay."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("plan_id", "code", name="uq_units_plan_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class IndicatorRow(Base):
    """An indicator of a plan; kept (inactive) when a later plan file drops it."""

    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("plan_id", "code", name="uq_indicators_plan_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class FigureRow(Base):
    """The current figure one unit reported for one indicator and period."""

    __tablename__ = "figures"
    __table_args__ = (
        UniqueConstraint("indicator_id", "unit_id", "period", name="uq_figures_key"),
        # who has reported for a period, answered from the index alone
        Index("ix_figures_coverage", "indicator_id", "period_end", "period_start", "unit_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(ExactDecimal())
    note: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    effective_on: Mapped[date] = mapped_column(Date)
    via: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    history: Mapped[list[FigureRevisionRow]] = relationship(
        back_populates="figure", order_by="FigureRevisionRow.revision", cascade="all, delete-orphan"
    )
    unit: Mapped[UnitRow] = relationship()
    indicator: Mapped[IndicatorRow] = relationship()


class FigureRevisionRow(Base):
    """One version of a figure: who entered it, when, how, and why it replaced the one before."""

    __tablename__ = "figure_revisions"
    __table_args__ = (UniqueConstraint("figure_id", "revision", name="uq_figure_revisions_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    figure_id: Mapped[int] = mapped_column(ForeignKey("figures.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    value: Mapped[Decimal] = mapped_column(ExactDecimal())
    previous_value: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    via: Mapped[str] = mapped_column(String(20))
    figure: Mapped[FigureRow] = relationship(back_populates="history")


class CitySeriesRow(Base):
    """The city's parts of one indicator for one period, kept up to date by every save (see bot/series.py).

    The lead unit's figure; the sum, count and latest effective day of the reporting units' figures for exactly
    this period; and for levels, the sum of every reporting unit's latest level up to this period's end
    (carried forward) with the latest effective day among their figures so far.
    """

    __tablename__ = "city_series"
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    lead_unit_id: Mapped[int | None] = mapped_column(Integer)
    lead_value: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    lead_effective: Mapped[date | None] = mapped_column(Date)
    part_sum: Mapped[Decimal] = mapped_column(ExactDecimal())
    part_count: Mapped[int] = mapped_column(Integer)
    part_effective: Mapped[date | None] = mapped_column(Date)
    carried: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    carried_effective: Mapped[date | None] = mapped_column(Date)

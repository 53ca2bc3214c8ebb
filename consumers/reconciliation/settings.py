"""`[broker.reconcile]`'s settings, apart from the reconciler: every run's configuration holds them, and a replay
(which never reconciles) need not import the reconciler to read its configuration."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ReconcileSettings(BaseModel):
    """`[broker.reconcile]` in the strategies file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    every_min: float = Field(default=5, gt=0, description="minutes between reconciliations while running")
    pending_deadline_s: float = Field(default=300, ge=0, description="an unsettled order older than this is looked up")
    tolerance: Decimal = Field(default=Decimal("0.000001"), ge=0, description="per asset, for the exchange's rounding")
    baseline: dict[str, Decimal] = Field(default={}, description="what you hold on the exchange outside STDS")

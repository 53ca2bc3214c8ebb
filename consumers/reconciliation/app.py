"""Reconciliation as the scheduled function runs it: reconcile once, publish the settlements it recovered."""

from __future__ import annotations

from dataclasses import dataclass

from consumers.reconciliation.reconciler import Reconciler, Reconciliation
from events.bus import Bus
from events.envelope import wrap


@dataclass(frozen=True)
class ReconciliationApp:
    reconciler: Reconciler | None  # None with the paper broker: there is no exchange account to compare with
    bus: Bus

    def run(self, now_ms: int) -> Reconciliation | None:
        if self.reconciler is None:
            return None
        result = self.reconciler.run(now_ms)
        self.bus.publish([wrap(settlement) for settlement in result.settled])
        return result

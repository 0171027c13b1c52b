"""Prometheus metrics, on a registry of their own (several apps in one test process never clash).

Timings come through `persona.observation.TurnObserver` (this class implements it); counters are
read from the engine's `stats` when scraped, so the engine is not sprinkled with metric calls;
gauges that need a store read (queue depth and oldest job, memory items) are refreshed by the
`/metrics` handler just before it renders.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from persona.observation import Stage

if TYPE_CHECKING:
    from prometheus_client.core import Metric

_log = logging.getLogger(__name__)

_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0)
_TURN_OUTCOMES = ("answered", "merged", "duplicate", "limited", "failed", "interrupted")


class StatsCollector(Collector):
    """Counters and gauges read from the engine at scrape time."""

    def __init__(self, stats: Counter[str], active_sessions: Callable[[], int]) -> None:
        self._stats = stats
        self._active = active_sessions

    def collect(self) -> Iterator[Metric]:
        stats = self._stats
        turns = CounterMetricFamily("familiar_turns", "Messages handled, by outcome", labels=["outcome"])
        for outcome in _TURN_OUTCOMES:
            turns.add_metric([outcome], stats.get(f"turns.{outcome}", 0))
        yield turns
        errors = CounterMetricFamily(
            "familiar_provider_errors", "Failed replies by provider error class", labels=["kind"]
        )
        for key, value in sorted(stats.items()):
            if key.startswith("provider."):
                errors.add_metric([key.removeprefix("provider.")], value)
        yield errors
        yield self._degraded()
        active = GaugeMetricFamily("familiar_active_sessions", "Sessions with a turn running or queued")
        active.add_metric([], float(self._active()))
        yield active

    def _degraded(self) -> CounterMetricFamily:
        degraded = CounterMetricFamily(
            "familiar_degraded_sources",
            "Gathering sources that were late or failed and were left out of a prompt",
            labels=["source", "reason"],
        )
        for key, value in sorted(self._stats.items()):
            parts = key.split(".")
            if len(parts) == 3 and parts[0] == "gather" and parts[2] in ("timeout", "error"):
                degraded.add_metric([parts[1], parts[2]], value)
        return degraded


class Metrics:
    """Implements `TurnObserver`; renders the text exposition format."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._stages = {
            stage: Histogram(
                f"familiar_{stage}_seconds",
                f"Time of a turn's {stage.replace('_', ' ')}",
                buckets=_BUCKETS,
                registry=self.registry,
            )
            for stage in ("gather", "first_token", "turn")
        }
        self.queue_depth = Gauge(
            "familiar_queue_depth", "Post-turn jobs in the outbox", registry=self.registry
        )
        self.oldest_job = Gauge(
            "familiar_queue_oldest_job_age_seconds", "Age of the oldest post-turn job", registry=self.registry
        )
        self.memory_items = Gauge("familiar_memory_items", "Long-term memory items", registry=self.registry)
        self.started = time.time()

    def timing(self, stage: Stage, seconds: float) -> None:
        self._stages[stage].observe(max(0.0, seconds))

    def watch(self, stats: Counter[str], active_sessions: Callable[[], int]) -> None:
        self.registry.register(StatsCollector(stats, active_sessions))

    def summary(self, stage: Stage) -> tuple[int, float]:
        """(count, mean seconds) of a stage, for the health page."""
        count = total = 0.0
        for metric in self._stages[stage].collect():
            for sample in metric.samples:
                if sample.name.endswith("_count"):
                    count = sample.value
                elif sample.name.endswith("_sum"):
                    total = sample.value
        return int(count), (total / count if count else 0.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""Alternating A/B timing, quantiles, and the row every benchmark reports."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, linearly interpolated."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """Median and spread of one side's samples."""

    median: float
    p10: float
    p25: float
    p75: float
    p90: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        """Summarise ``values``."""
        return cls(
            median=statistics.median(values),
            p10=quantile(values, 0.10),
            p25=quantile(values, 0.25),
            p75=quantile(values, 0.75),
            p90=quantile(values, 0.90),
            count=len(values),
        )


@dataclass(frozen=True)
class Paired:
    """Samples of the SDK side and the baseline side, taken in alternation."""

    sdk: list[float]
    base: list[float]

    @property
    def ratios(self) -> list[float]:
        """``sdk / base`` of each round (the two halves of one round ran back to back)."""
        return [s / b for s, b in zip(self.sdk, self.base, strict=True)]


def alternate_many(
    sides: dict[str, Callable[[], object]],
    *,
    rounds: int,
    batch: int,
    warmup: int,
) -> dict[str, list[float]]:
    """Time ``batch`` calls of each side per round, rotating which side goes first.

    Returns seconds per call, one sample per round and side. The garbage collector stays
    on (its cost is part of what a side allocates) but starts each batch empty.
    """
    for _ in range(warmup):
        for function in sides.values():
            function()
    names = list(sides)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        order = names[shift:] + names[:shift]
        if (index // len(names)) % 2:
            order.reverse()
        for name in order:
            function = sides[name]
            gc.collect()
            started = time.perf_counter()
            for _ in range(batch):
                function()
            samples[name].append((time.perf_counter() - started) / batch)
    return samples


def alternate(
    sdk: Callable[[], object],
    base: Callable[[], object],
    *,
    rounds: int,
    batch: int,
    warmup: int,
) -> Paired:
    """:func:`alternate_many` of the SDK side and the baseline side."""
    samples = alternate_many({"sdk": sdk, "base": base}, rounds=rounds, batch=batch, warmup=warmup)
    return Paired(samples["sdk"], samples["base"])


@dataclass
class Row:
    """One line of the results table.

    ``ratio`` is compared with ``target`` by ``op`` (``"<="`` or ``">="``), unless
    ``limit`` is set: then the SDK's own figure is held to that absolute limit (``"<"``)
    and the ratio to the baseline is only shown.
    """

    name: str
    unit: str
    sdk: Summary
    base: Summary
    ratio: float
    ratio_spread: tuple[float, float] | None
    op: str
    target: float
    limit: float | None = None
    notes: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    """Further conditions of the target, by what they say (e.g. ``"connections <= 10"``)."""

    @property
    def met(self) -> bool:
        """Whether the target is met, its further checks included."""
        if not all(self.checks.values()):
            return False
        if self.limit is not None:
            return self.sdk.median < self.limit
        if self.op == "<=":
            return self.ratio <= self.target
        return self.ratio >= self.target

    @property
    def target_text(self) -> str:
        """The target, as written in the issue."""
        if self.limit is not None:
            text = f"SDK < {self.limit:g} {self.unit}"
        else:
            text = f"ratio {self.op} {self.target:.2f}"
        return "; ".join([text, *self.checks])

    @property
    def budget_used(self) -> float:
        """The figure as a share of its target: at most 1.0 when the target is met."""
        if self.limit is not None:
            return self.sdk.median / self.limit
        if self.op == "<=":
            return self.ratio / self.target
        return self.target / self.ratio


def paired_row(
    name: str,
    paired: Paired,
    *,
    scale: float,
    unit: str,
    op: str,
    target: float,
) -> Row:
    """A row from alternating samples; ``scale`` converts them to ``unit``.

    The ratio is the median of the per-round ratios (each round ran both sides back to
    back, so a drift in machine speed cancels out of it); its spread is their
    interquartile range.
    """
    sdk = [value * scale for value in paired.sdk]
    base = [value * scale for value in paired.base]
    ratios = paired.ratios
    ratio = statistics.median(ratios)
    return Row(
        name=name,
        unit=unit,
        sdk=Summary.of(sdk),
        base=Summary.of(base),
        ratio=ratio,
        ratio_spread=(quantile(ratios, 0.25), quantile(ratios, 0.75)),
        op=op,
        target=target,
    )

"""One result line per measured figure, so bench/run.py can gather every scenario's figures into one table.

A scenario prints its own human-readable table and, for each headline figure, a line
``BENCH {"scenario": …, "what": …, "value": …, "unit": …, "baseline": …, "baseline_what": …, "target": …}``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

PREFIX = "BENCH "


@dataclass(frozen=True)
class Figure:
    scenario: str
    what: str
    value: float
    unit: str
    baseline: float | None  # the same work done the plain way, measured in the same run
    baseline_what: str
    target: str = ""  # e.g. "< 3 s"; empty when the issue sets none
    met: bool | None = None  # None: no target

    @property
    def ratio(self) -> str:
        """Ours over the baseline (for a rate, higher is better; for a time or size, lower is)."""
        if not self.baseline:
            return "—"
        return f"{self.value / self.baseline:.2f}×"


def emit(figure: Figure) -> None:
    print(PREFIX + json.dumps(asdict(figure)), flush=True)


def parse(line: str) -> Figure | None:
    if not line.startswith(PREFIX):
        return None
    return Figure(**json.loads(line[len(PREFIX) :]))


def number(value: float, unit: str) -> str:
    if unit in ("req/s", "rows/s", "orders/s"):
        return f"{value:,.0f} {unit}"
    return f"{value:,.1f} {unit}" if value >= 10 else f"{value:,.2f} {unit}"


def markdown(figures: list[Figure]) -> str:
    lines = [
        "| scenario | what | Collective | baseline (same run) | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        base = number(f.baseline, f.unit) if f.baseline is not None else "—"
        met = "—" if f.met is None else ("yes" if f.met else "**no**")
        lines.append(
            f"| {f.scenario} | {f.what} | {number(f.value, f.unit)} | {f.baseline_what} | {base} | {f.ratio}"
            f" | {f.target or '—'} | {met} |"
        )
    return "\n".join(lines)

"""``load --plot``: a load run drawn as requests/s (asked, sent, 2xx, 429) and p95 latency.

Its own module so that matplotlib, imported only inside :func:`save_plot`, stays out of every run
that does not ask for a plot, and so that :mod:`mockserver.load` holds only the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mockserver.load import LoadResult

__all__ = ["save_plot"]


def save_plot(result: LoadResult, path: str | Path) -> None:
    """Draw requests/s (asked, sent, 2xx, 429) and p95 latency over time into a PNG.

    Uses matplotlib's Agg canvas on a private figure (no pyplot, no global backend switch);
    matplotlib is imported here only, so a run without ``--plot`` never loads it.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    seconds = result.seconds
    x = [s.start_s + s.width_s / 2 for s in seconds]
    style: dict[str, Any] = {"marker": "o", "markersize": 3.5} if len(seconds) <= 40 else {}
    figure = Figure(figsize=(10, 5.2), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    rates = figure.add_subplot()
    rates.plot(
        x, [s.asked_rate for s in seconds], "--", color="0.35", lw=1.1, label="asked/s", zorder=4
    )
    rates.plot(x, [s.rate for s in seconds], color="tab:blue", lw=1.8, label="sent/s", **style)
    rates.plot(
        x, [s.ok / s.width_s if s.width_s else 0 for s in seconds],
        color="tab:green", lw=1.8, label="2xx/s", **style,
    )  # fmt: skip
    rates.bar(
        x, [s.throttled / s.width_s if s.width_s else 0 for s in seconds],
        width=[0.8 * s.width_s for s in seconds], color="tab:orange", alpha=0.35,
        label="429/s",
    )  # fmt: skip
    failed = [(xi, s.error_count / s.width_s) for xi, s in zip(x, seconds, strict=True) if s.errors]
    if failed:
        rates.scatter(
            [p[0] for p in failed], [p[1] for p in failed],
            marker="x", color="tab:red", s=40, zorder=5, label="errors/s",
        )  # fmt: skip
    rates.set_xlabel("seconds since the first request")
    rates.set_ylabel("requests per second")
    rates.set_xlim(0, max(result.plan.duration_s, 1.0))
    rates.grid(True, alpha=0.3)

    latency = rates.twinx()
    p95 = [
        (xi, 1000 * s.latency_p95_s)
        for xi, s in zip(x, seconds, strict=True)
        if s.latency_p95_s is not None
    ]
    latency.plot(
        [p[0] for p in p95], [p[1] for p in p95],
        color="tab:purple", lw=1.4, ls="-.", label="p95 latency (ms)", **style,
    )  # fmt: skip
    latency.set_ylabel("p95 latency (ms)", color="tab:purple")
    latency.tick_params(axis="y", colors="tab:purple")
    # Headroom above the latency line keeps it clear of the 429 note and the rate lines' peak.
    latency.set_ylim(0, max([p[1] for p in p95] + [1.0]) * 1.45)

    first = result.first_429
    if first is not None:
        at = seconds[first.second].start_s
        rates.axvline(at, color="tab:orange", lw=1.2, ls=":")
        rates.annotate(
            f"first 429 at {first.rate:.0f}/s",
            xy=(at, 0.97), xycoords=("data", "axes fraction"),
            xytext=(4, 0), textcoords="offset points", ha="left", va="top",
            color="tab:orange", fontsize=9,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
        )  # fmt: skip

    handles = [
        *rates.get_legend_handles_labels()[0],
        *latency.get_legend_handles_labels()[0],
    ]
    if first is not None:
        handles.append(Line2D([], [], color="tab:orange", lw=1.2, ls=":", label="first 429"))
    figure.legend(
        handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8.5,
        frameon=False,
    )  # fmt: skip
    top = max([s.rate for s in seconds] + [s.asked_rate for s in seconds] + [1.0])
    rates.set_ylim(0, top * 1.12)
    plan = result.plan
    shape = f"ramp {plan.start_rate:g} to {plan.rate:g}/s" if plan.ramp else f"{plan.rate:g}/s"
    url = result.url if len(result.url) <= 60 else result.url[:57] + "..."
    rates.set_title(f"r360-webhooks load: {shape} for {plan.duration_s:g} s to {url}", fontsize=10)
    figure.savefig(Path(path), format="png")

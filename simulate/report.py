"""What `eros simulate` writes: a table on stdout, a CSV per minute, PNGs and one HTML page."""

from __future__ import annotations

import base64
import csv
import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eros.simulate.engine import PHASES, SimulationResult

PERCENTILES = (50, 95, 99)
FIGURES = (
    ("users", "Idle users per phase", "users"),
    ("jobs", "Queued (dashed) and running jobs per phase", "jobs"),
    ("workers", "Workers per phase (dotted: the budget's most)", "workers"),
    ("cpu", "CPU allocated (solid) and used (dashed), all phases", "cores"),
    ("halts", "Jobs halted per minute, all phases", "halts/min"),
)


def percentiles(delays: np.ndarray) -> tuple[float, ...]:
    if len(delays) == 0:
        return tuple(math.nan for _ in PERCENTILES)
    return tuple(float(v) for v in np.percentile(delays, PERCENTILES))


def summary_rows(results: Sequence[SimulationResult], hours: float) -> list[dict[str, str]]:
    """One row per policy: the figures of the issue, as text."""
    baseline = next((r for r in results if r.policy == "always-on"), None)
    rows = []
    for r in results:
        row = {"policy": r.policy}
        for i in range(PHASES):
            p50, p95, p99 = percentiles(r.start_delays[i])
            row[f"phase {i + 1} start p50/p95/p99 s"] = f"{p50:.1f}/{p95:.1f}/{p99:.1f}"
        for i in range(PHASES):
            backlog = r.from_backlog[i]
            *_, p99 = percentiles(r.start_delays[i][~backlog])
            row[f"phase {i + 1} start p99 s, crossed while open"] = f"{p99:.1f}"
            drained = r.start_delays[i][backlog]
            longest = f"{drained.max():.0f}" if len(drained) else "-"
            row[f"phase {i + 1} backlog jobs, drained in s"] = f"{len(drained)} in {longest}"
        row["CPU-s thrown by halts"] = "/".join(f"{t:.0f}" for t in r.thrown_cpu_seconds)
        row["jobs enqueued"] = "/".join(str(n) for n in r.jobs_enqueued)
        row["jobs done"] = "/".join(str(n) for n in r.jobs_done)
        row["jobs never run"] = "/".join(str(n) for n in r.jobs_never_run)
        row["ticks jobs had no worker"] = str(sum(r.stranded_ticks))
        row["budget violations"] = str(r.budget_violations)
        row["phase 3 done before waking"] = f"{100 * r.phase3_before_waking:.1f}%"
        per_day = 24 / hours
        row["CPU-h/day allocated"] = f"{r.cpu_hours_allocated * per_day:.1f}"
        row["CPU-h/day used"] = f"{r.cpu_hours_used * per_day:.1f}"
        row["peak cores"] = f"{r.peak_cores:.2f}"
        if baseline is not None and r.cpu_hours_allocated > 0:
            row["saved vs always-on"] = (
                f"{baseline.cpu_hours_allocated / r.cpu_hours_allocated:.2f}x"
            )
        rows.append(row)
    return rows


def format_table(rows: Sequence[dict[str, str]]) -> str:
    """Policies as columns, figures as rows: the figures' names are long, policies few."""
    if not rows:
        return ""
    names = list(rows[0])
    width = max(len(n) for n in names)
    cols = [max(len(row.get(n, "")) for n in names) for row in rows]
    lines = []
    for n in names:
        cells = [row.get(n, "").rjust(w) for row, w in zip(rows, cols, strict=True)]
        lines.append(f"{n.ljust(width)}  " + "  ".join(cells))
    return "\n".join(lines)


def write_csv(results: Sequence[SimulationResult], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        header = ["policy", "minute"]
        for i in range(1, PHASES + 1):
            header += [
                f"users_p{i}",
                f"queued_p{i}",
                f"running_p{i}",
                f"workers_p{i}",
                f"cpu_allocated_p{i}",
                f"cpu_used_p{i}",
                f"halts_p{i}",
            ]
        writer.writerow(header)
        for r in results:
            m = r.minutes
            for minute in range(m.count):
                row: list[object] = [r.policy, minute]
                for i in range(PHASES):
                    row += [
                        m.users[minute, i],
                        m.queued[minute, i],
                        m.running[minute, i],
                        m.workers[minute, i],
                        round(float(m.cpu_allocated[minute, i]), 3),
                        round(float(m.cpu_used[minute, i]), 3),
                        m.halts[minute, i],
                    ]
                writer.writerow(row)


def write_figures(results: Sequence[SimulationResult], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    first = results[0]
    hours = np.arange(first.minutes.count) / 60
    colours = ("tab:blue", "tab:orange", "tab:green")
    for key, title, unit in FIGURES:
        shared = key == "users"
        panels = 1 if shared else len(results)
        fig, axes = plt.subplots(
            panels, 1, figsize=(9, 2.2 * panels + 0.8), sharex=True, squeeze=False
        )
        for row, r in enumerate(results[:panels]):
            ax = axes[row][0]
            m = r.minutes
            if key == "users":
                for i in range(PHASES):
                    ax.plot(hours, m.users[:, i], color=colours[i], label=f"phase {i + 1}")
            elif key == "jobs":
                for i in range(PHASES):
                    ax.plot(hours, m.running[:, i], color=colours[i], label=f"phase {i + 1}")
                    ax.plot(hours, m.queued[:, i], color=colours[i], linestyle="--")
            elif key == "workers":
                for i in range(PHASES):
                    ax.plot(hours, m.workers[:, i], color=colours[i], label=f"phase {i + 1}")
                    ax.axhline(r.budget_replicas[i], color=colours[i], linestyle=":")
            elif key == "cpu":
                ax.plot(hours, m.cpu_allocated.sum(axis=1), color="black", label="allocated")
                ax.plot(hours, m.cpu_used.sum(axis=1), color="black", linestyle="--", label="used")
            else:
                ax.plot(hours, m.halts.sum(axis=1), color="tab:red", label="halts")
            ax.set_ylabel(unit)
            ax.set_title(title if shared else f"{r.policy}: {title}", fontsize=9)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="upper right")
        axes[-1][0].set_xlabel("hours from the start")
        fig.tight_layout()
        path = out / f"{key}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        paths.append(path)
    return paths


def write_html(
    rows: Sequence[dict[str, str]], figures: Sequence[Path], path: Path, heading: str
) -> None:
    """One page, images inlined as base64, so it can be mailed or attached as it is."""
    names = list(rows[0]) if rows else []
    table = "<table><tr>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"
    for row in rows:
        table += "<tr>" + "".join(f"<td>{html.escape(row.get(n, ''))}</td>" for n in names)
        table += "</tr>"
    table += "</table>"
    images = "".join(
        f'<h2>{html.escape(f.stem)}</h2><img alt="{html.escape(f.stem)}" '
        + 'src="data:image/png;base64,'
        + base64.b64encode(f.read_bytes()).decode()
        + '">'
        for f in figures
    )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}img{max-width:100%}"
    )
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>eros simulate</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(heading)}</h1>{table}{images}"
        "</body></html>"
    )

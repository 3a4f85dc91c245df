"""Charts for leaders (PNG): one indicator against its time-elapsed pace, and every indicator at a glance."""

from __future__ import annotations

import importlib.util
import math
import textwrap
import threading
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.dates import format_skeleton
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.domain.pace import Point, Progress, Status, pace_points, target_value
from bot.domain.plan import Kind, Plan
from bot.render.text import STATUS_LABELS, expected_text, target_text, value_text, whole
from i18n import Translator

FONT_FILE = "NotoSansCJKsc-Regular.otf"
FALLBACK_FAMILY = "DejaVu Sans"  # matplotlib's own font, used only for a glyph the CJK font lacks
DPI = 120
COLOURS = {
    Status.ACHIEVED: "#1a7f37", Status.ON_TRACK: "#4caf50", Status.BEHIND: "#f0a020",
    Status.LAGGING: "#d93025", Status.MISSED: "#9b1c1c", Status.UNMET: "#c2410c", Status.NO_DATA: "#9e9e9e",
    Status.NO_BASELINE: "#c6c6c6",
}
PACE_COLOUR, MILESTONE_COLOUR, AS_OF_COLOUR, MUTED = "#555555", "#333333", "#1f6fb2", "#777777"
SHARE_MIN, SHARE_MAX = -50.0, 200.0  # overview bars are clipped to this range; their labels show the true value

_register_lock = threading.Lock()
_families: list[str] = []


@cache
def font_path() -> Path:
    """The Noto Sans CJK SC font file shipped inside the mplfonts package (found without importing it)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the mplfonts package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / FONT_FILE


def _family() -> str:
    """Register the CJK font with matplotlib's font manager once; its family name."""
    with _register_lock:
        if not _families:
            path = str(font_path())
            if not any(f.fname == path for f in fontManager.ttflist):
                fontManager.addfont(path)
            _families.append(next(f.name for f in fontManager.ttflist if f.fname == path))
        return _families[0]


def chinese_font(size: float | None = None) -> FontProperties:
    """Noto Sans CJK SC (DejaVu Sans only for a glyph it lacks), registered with matplotlib once."""
    return FontProperties(family=[_family(), FALLBACK_FAMILY], size=size)


def _new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure on its own Agg canvas (no pyplot state) with one axes whose tick labels use the CJK font."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.tick_params(labelfontfamily=[_family(), FALLBACK_FAMILY], labelsize=8)
    ax.grid(True, color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _save(fig: Figure, path: Path) -> Path:
    """Write the figure as a PNG and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, facecolor="white")
    return path


def _wrap(text: str, width: int) -> str:
    """Text broken into lines of about width columns (a Chinese character counts as two)."""
    cjk = any(ord(ch) >= 0x2E80 for ch in text)
    return "\n".join(textwrap.wrap(text, width // 2 if cjk else width, break_on_hyphens=False)) or text


def _legend_columns(n: int) -> int:
    """Legend entries in one row when they fit, else in two rows."""
    return max(1, n if n <= 6 else (n + 1) // 2)


def _x(day: date) -> float:
    """A date as an x coordinate (proleptic ordinal day)."""
    return float(day.toordinal())


def _date_ticks(ax: Axes, lo: date, hi: date, t: Translator) -> None:
    """Month ticks between lo and hi, at most about eight labelled, formatted for the reader's locale."""
    months = (hi.year - lo.year) * 12 + hi.month - lo.month
    step = next(s for s in (1, 2, 3, 6, 12, 24, 60, 120) if months / s <= 8 or s == 120)
    ticks, y, m = [], lo.year, lo.month
    while date(y, m, 1) <= hi:
        if (m - 1) % step == 0 and (step < 12 or y % (step // 12) == 0):
            ticks.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    labels = [format_skeleton("yMMM", d, locale=t.locale) for d in ticks]
    ax.set_xticks([_x(d) for d in ticks], labels=labels)
    ax.set_xlim(_x(lo), _x(hi))


def _f(value: Decimal) -> float:
    """A Decimal as a plotting coordinate."""
    return float(value)


def indicator_chart(plan: Plan, progress: Progress, series: list[Point], t: Translator, path: Path) -> Path:
    """One indicator's city figures against its time-elapsed pace, milestones, forecast and as-of day (PNG)."""
    ind, lang = progress.indicator, t.lang
    colour = COLOURS[progress.status]
    staged = ind.kind is Kind.STAGED and bool(ind.stages)
    fig, ax = _new_figure(8, 4.5)
    series = sorted(series, key=lambda p: p.day)
    if progress.baseline is not None:
        pace = pace_points(plan, ind, progress.baseline)
        ax.plot([_x(p.day) for p in pace], [_f(p.value) for p in pace], linestyle="--", color=PACE_COLOUR,
                linewidth=1.4, label=t("time-elapsed pace"), zorder=2)
    shown_ms = [ms for ms in ind.milestones if progress.baseline is not None or not ms.relative]
    milestones = [(ms.due, target_value(ms, progress.baseline)) for ms in shown_ms]
    if milestones:
        ax.plot([_x(d) for d, _ in milestones], [_f(v) for _, v in milestones], linestyle="none", marker="D",
                markersize=7, color=MILESTONE_COLOUR, label=t("milestone"), zorder=4)
        for ms, (due, value) in zip(shown_ms, milestones, strict=True):
            if not staged:  # a staged milestone's value is the stage named on the y axis
                ax.annotate(target_text(ind, value, ms, t), (_x(due), _f(value)), xytext=(0, 9),
                            textcoords="offset points", ha="center", fontproperties=chinese_font(8),
                            color=MILESTONE_COLOUR)
    if series:
        ax.plot([_x(p.day) for p in series], [_f(p.value) for p in series], marker="o", markersize=5,
                linewidth=2, color=colour, label=t("actual"), zorder=5)
        last = series[-1]
        if not staged:
            ax.annotate(value_text(ind, last.value, t), (_x(last.day), _f(last.value)), xytext=(6, -12),
                        textcoords="offset points", fontproperties=chinese_font(8), color=colour)
    else:
        ax.text(0.5, 0.5, t("No figures reported yet"), transform=ax.transAxes, ha="center", va="center",
                fontproperties=chinese_font(11), color=MUTED)
    if progress.forecast is not None and series and progress.due is not None:
        last, fc = series[-1], _f(progress.forecast)
        if staged:
            fc = min(max(fc, 0.0), len(ind.stages) - 1.0)
        ax.plot([_x(last.day), _x(progress.due)], [_f(last.value), fc], linestyle=":", linewidth=2,
                color=colour, label=t("forecast"), zorder=3)
        if not staged:
            ax.annotate(value_text(ind, whole(ind, progress.forecast), t), (_x(progress.due), fc), xytext=(6, -4),
                        textcoords="offset points", fontproperties=chinese_font(8), color=colour)
    ax.axvline(_x(progress.as_of), color=AS_OF_COLOUR, linewidth=1,
               label=t("as of {date}", date=t.date(progress.as_of)), zorder=1)
    days = [plan.baseline_date, plan.end, progress.as_of, *(p.day for p in series), *(d for d, _ in milestones)]
    _date_ticks(ax, min(days) - timedelta(days=31), max(days) + timedelta(days=45), t)
    if staged:
        names = [_wrap(s.name.get(lang), 24) for s in ind.stages]
        ax.set_yticks(range(len(names)), labels=names)
        ax.set_ylim(-0.5, len(names) - 0.5)
        ax.tick_params(axis="y", labelsize=7)
    else:
        ax.margins(y=0.18)
        lowest = ax.dataLim.y0 if math.isfinite(ax.dataLim.y0) else 0.0
        if lowest >= 0 and ind.kind in (Kind.STOCK, Kind.FLOW):  # counts start at zero; rates zoom in
            ax.set_ylim(bottom=0)
        elif ax.get_ylim()[0] < 0 < ax.get_ylim()[1]:
            ax.axhline(0, color=MUTED, linewidth=0.8, zorder=1)
        if ind.is_percent:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}%"))
        elif all(v == v.to_integral_value() for v in [*(p.value for p in series), *(v for _, v in milestones)]):
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # whole counts only
    ax.set_ylabel(ind.measure.get(lang), fontproperties=chinese_font(9))
    title = t("{name}: {status}", name=ind.name.get(lang), status=t(STATUS_LABELS[progress.status]))
    fig.suptitle(_wrap(title, 80), fontproperties=chinese_font(13), color="#222222")
    if progress.actual is not None or progress.expected is not None:
        summary = t("actual {actual}, expected by now {expected}, target {target} by {due}",
                    actual=value_text(ind, progress.actual, t), expected=expected_text(progress, t),
                    target=target_text(ind, progress.target, progress.milestone, t), due=t.date(progress.due))
        ax.set_title(_wrap(summary, 110), fontproperties=chinese_font(9), color=MUTED, loc="left")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=_legend_columns(len(handles)),
               prop=chinese_font(8), frameon=False)
    return _save(fig, path)


def progress_shares(plan: Plan, p: Progress) -> tuple[float | None, float | None]:
    """Actual and expected (the time-elapsed pace) as % of the current milestone's target: 72 of 80 is 90%."""
    if p.target is None or p.target <= 0:
        return None, None
    actual = None if p.actual is None else float(p.actual / p.target * 100)
    expected = None if p.expected is None or p.final else float(p.expected / p.target * 100)
    return actual, expected


def overview_chart(plan: Plan, progress: list[Progress], t: Translator, path: Path) -> Path:
    """Every indicator as a bar: progress towards its current milestone against the time-elapsed pace (PNG)."""
    rows: Sequence[Progress] = progress
    fig, ax = _new_figure(8, max(3.2, 1.7 + 0.42 * len(rows)))
    shares = [progress_shares(plan, p) if p.status is not Status.NO_DATA else (None, None) for p in rows]
    ys = list(range(len(rows)))
    shown = [min(max(a, SHARE_MIN), SHARE_MAX) if a is not None else 0.0 for a, _ in shares]
    ax.barh(ys, shown, height=0.6, color=[COLOURS[p.status] for p in rows], zorder=2)
    for y, p, (actual, expected), width in zip(ys, rows, shares, shown, strict=True):
        if expected is not None:
            ax.plot([expected], [y], marker="|", markersize=16, markeredgewidth=2.2, color=MILESTONE_COLOUR,
                    zorder=4)
        text = t(STATUS_LABELS[p.status]) if actual is None else t.percent(Decimal(round(actual)), 0)
        if actual is not None and p.status is Status.NO_BASELINE:
            text = t("{value} ({status})", value=text, status=t(STATUS_LABELS[p.status]))
        ax.annotate(text, (max(width, 0.0), y), xytext=(4, 0), textcoords="offset points", va="center",
                    fontproperties=chinese_font(8), color="#333333" if actual is not None else MUTED)
    ax.axvline(0, color=MUTED, linewidth=0.8, zorder=3)
    ax.axvline(100, color=PACE_COLOUR, linewidth=1, linestyle="--", zorder=1)
    ax.set_xlim(min([0.0, *shown]) - 5, max([110.0, *shown]) + 30)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}%"))
    ax.set_yticks(ys, labels=[_wrap(p.indicator.name.get(t.lang), 40) for p in rows])
    ax.set_ylim(len(rows) - 0.4, -0.6)  # worst (first) at the top
    ax.grid(False, axis="y")
    ax.set_xlabel(t("Actual as a share of the current milestone's target (100% = target reached; | = time-elapsed "
                    "pace)"),
                  fontproperties=chinese_font(9))
    if not rows:
        ax.text(0.5, 0.5, t("No indicators to show"), transform=ax.transAxes, ha="center", va="center",
                fontproperties=chinese_font(11), color=MUTED)
    fig.suptitle(t("Progress against the time-elapsed pace"), fontproperties=chinese_font(13), color="#222222")
    if rows:
        ax.set_title(t("as of {date}", date=t.date(rows[0].as_of)), fontproperties=chinese_font(9), color=MUTED,
                     loc="left")
    present = sorted({p.status for p in rows}, key=lambda s: s.severity)
    handles: list[Patch | Line2D] = [Patch(color=COLOURS[s], label=t(STATUS_LABELS[s])) for s in present]
    if any(expected is not None for _, expected in shares):
        handles.append(Line2D([], [], linestyle="none", marker="|", markersize=12, markeredgewidth=2.2,
                              color=MILESTONE_COLOUR, label=t("time-elapsed pace")))
    fig.legend(handles=handles, loc="outside lower center", ncols=_legend_columns(len(handles)),
               prop=chinese_font(8), frameon=False)
    return _save(fig, path)

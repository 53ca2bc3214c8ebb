"""heatmap.png: the objective over the first two varied parameters, one panel per window (train and test side by
side, every panel on one colour scale); with more varied parameters, each cell shows the best over the others."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.research.grid import ParamValue
from infra.research.plan import SweepPlan, objective_label, shown_score
from infra.research.results import Row

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import NDArray

COLOURS = "RdYlGn"  # red for the worst score of the whole sweep, green for its best
MAX_TICKS = 12  # tick labels an axis shows at most: more overlap at a panel's size


def varied(plan: SweepPlan) -> list[str]:
    return [name for name, values in plan.axes.items() if len(values) > 1]


def heatmap_axes(plan: SweepPlan) -> tuple[str, str] | None:
    """The first two grid parameters that vary, or None when fewer do."""
    names = varied(plan)
    return (names[0], names[1]) if len(names) >= 2 else None


def write_heatmap(plan: SweepPlan, rows: list[Row], path: Path) -> None:
    import matplotlib.pyplot as plt

    figure = heatmap_figure(plan, rows)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def heatmap_figure(plan: SweepPlan, rows: list[Row]) -> Figure:
    """Every panel on one colour scale: the in-sample panels are typically far greener than the out-of-sample
    ones, and a scale per panel would paint both alike and hide that drop."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    axes_names = heatmap_axes(plan)
    assert axes_names is not None
    y_name, x_name = axes_names
    y_values, x_values = plan.axes[y_name], plan.axes[x_name]
    sides = [False, True] if plan.walk_forward else [False]
    figure, panels = plt.subplots(
        len(plan.folds),
        len(sides),
        figsize=(4.2 * len(sides) + 1.4, 3.2 * len(plan.folds) + 0.6),
        squeeze=False,
        constrained_layout=True,
    )
    grids = {
        (fold_index, side_index): _grid(plan, [row for row in rows if row.fold == fold], out_of_sample, axes_names)
        for fold_index, fold in enumerate(plan.folds)
        for side_index, out_of_sample in enumerate(sides)
    }
    scored = [grid[~np.isnan(grid)] for grid in grids.values()]
    every = np.concatenate(scored) if scored else np.array([])
    scale = Normalize(float(every.min()), float(every.max())) if every.size else Normalize(0.0, 1.0)
    label = objective_label(plan.objective)
    for (fold_index, side_index), grid in grids.items():
        fold, out_of_sample = plan.folds[fold_index], sides[side_index]
        panel = panels[fold_index][side_index]
        panel.imshow(grid, origin="lower", aspect="auto", cmap=COLOURS, norm=scale)
        x_ticks, y_ticks = tick_places(len(x_values)), tick_places(len(y_values))
        x_labels = [str(x_values[place]) for place in x_ticks]
        panel.set_xticks(x_ticks, x_labels, fontsize=7, rotation=_turn(x_labels))
        panel.set_yticks(y_ticks, [str(y_values[place]) for place in y_ticks], fontsize=7)
        panel.set_xlabel(x_name)
        panel.set_ylabel(y_name)
        span = fold.test if out_of_sample else fold.train
        assert span is not None
        side = "out of sample" if out_of_sample else ("in sample" if plan.walk_forward else "all bars")
        panel.set_title(f"fold {fold.number} {side}\n{_day(span.start_ms)} → {_day(span.end_ms)}", fontsize=8)
        chosen = [row for row in rows if row.fold == fold and row.chosen and plan.walk_forward]
        for row in chosen:
            panel.add_patch(
                Rectangle(
                    (_place(x_values, row.params[x_name]) - 0.5, _place(y_values, row.params[y_name]) - 0.5),
                    1,
                    1,
                    fill=False,
                    edgecolor="black",
                    linewidth=1.5,
                )
            )
    figure.colorbar(
        ScalarMappable(norm=scale, cmap=COLOURS),
        ax=panels.ravel().tolist(),
        label=f"{label}, one scale for every panel",
    )
    others = varied(plan)[2:]
    best_of = f", each cell the best over {', '.join(others)}" if others else ""
    chosen_box = " (black box: chosen on train)" if plan.walk_forward else ""
    figure.suptitle(f"{plan.line.name}: {label} by {y_name} and {x_name}{best_of}{chosen_box}", fontsize=10)
    return figure


def _grid(plan: SweepPlan, fold_rows: list[Row], out_of_sample: bool, axes_names: tuple[str, str]) -> NDArray[Any]:
    """One panel's cells as the user reads them: the best score of the sets in each cell, NaN where none has one."""
    import numpy as np

    y_name, x_name = axes_names
    y_values, x_values = plan.axes[y_name], plan.axes[x_name]
    grid = np.full((len(y_values), len(x_values)), np.nan)
    for row in fold_rows:
        value = row.score(plan.objective, out_of_sample=out_of_sample)
        if not math.isinf(value):
            cell = (_place(y_values, row.params[y_name]), _place(x_values, row.params[x_name]))
            if np.isnan(grid[cell]) or value > grid[cell]:
                grid[cell] = value
    return np.vectorize(lambda score: shown_score(score, plan.objective))(grid)  # type: ignore[no-any-return]


def _place(values: list[ParamValue], value: ParamValue) -> int:
    return values.index(value)


def _day(time_ms: int) -> str:
    from infra.report.trades import iso_utc

    return iso_utc(time_ms)[:16].replace("T", " ")


def tick_places(count: int) -> list[int]:
    """Which of an axis's `count` values get a tick label: every one of a grid's few; of the many an optuna study or
    random search leaves, at most MAX_TICKS spread evenly, the first and the last always among them."""
    if count <= MAX_TICKS:
        return list(range(count))
    return [round(step * (count - 1) / (MAX_TICKS - 1)) for step in range(MAX_TICKS)]


def _turn(labels: list[str]) -> int:
    """Tick labels upright while they fit side by side."""
    return 90 if sum(len(label) for label in labels) > 40 else 0

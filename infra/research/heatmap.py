"""heatmap.png: the objective over the first two varied parameters, one panel per window (train and test side by
side); with more varied parameters, each cell shows the best over the others."""

from __future__ import annotations

import math
from pathlib import Path

from infra.research.grid import ParamValue
from infra.research.plan import SweepPlan, objective_label, shown_score
from infra.research.results import Row


def varied(plan: SweepPlan) -> list[str]:
    return [name for name, values in plan.axes.items() if len(values) > 1]


def heatmap_axes(plan: SweepPlan) -> tuple[str, str] | None:
    """The first two grid parameters that vary, or None when fewer do."""
    names = varied(plan)
    return (names[0], names[1]) if len(names) >= 2 else None


def write_heatmap(plan: SweepPlan, rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Rectangle

    axes_names = heatmap_axes(plan)
    assert axes_names is not None
    y_name, x_name = axes_names
    y_values, x_values = plan.axes[y_name], plan.axes[x_name]
    sides = [False, True] if plan.walk_forward else [False]
    figure, panels = plt.subplots(
        len(plan.folds),
        len(sides),
        figsize=(4.2 * len(sides) + 1, 3.2 * len(plan.folds) + 0.6),
        squeeze=False,
        constrained_layout=True,
    )
    label = objective_label(plan.objective)
    for fold_index, fold in enumerate(plan.folds):
        fold_rows = [row for row in rows if row.fold == fold]
        for side_index, out_of_sample in enumerate(sides):
            grid = np.full((len(y_values), len(x_values)), np.nan)
            for row in fold_rows:
                value = row.score(plan.objective, out_of_sample=out_of_sample)
                if not math.isinf(value):
                    cell = (_place(y_values, row.params[y_name]), _place(x_values, row.params[x_name]))
                    if np.isnan(grid[cell]) or value > grid[cell]:
                        grid[cell] = value
            grid = np.vectorize(lambda score: shown_score(score, plan.objective))(grid)
            panel = panels[fold_index][side_index]
            image = panel.imshow(grid, origin="lower", aspect="auto", cmap="RdYlGn")
            panel.set_xticks(range(len(x_values)), [str(v) for v in x_values], fontsize=7, rotation=_turn(x_values))
            panel.set_yticks(range(len(y_values)), [str(v) for v in y_values], fontsize=7)
            panel.set_xlabel(x_name)
            panel.set_ylabel(y_name)
            span = fold.test if out_of_sample else fold.train
            assert span is not None
            side = "out of sample" if out_of_sample else ("in sample" if plan.walk_forward else "all bars")
            panel.set_title(f"fold {fold.number} {side}\n{_day(span.start_ms)} → {_day(span.end_ms)}", fontsize=8)
            chosen = [row for row in fold_rows if row.chosen and plan.walk_forward]
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
            figure.colorbar(image, ax=panel, label=label)
    others = varied(plan)[2:]
    best_of = f", each cell the best over {', '.join(others)}" if others else ""
    chosen_box = " (black box: chosen on train)" if plan.walk_forward else ""
    figure.suptitle(f"{plan.line.name}: {label} by {y_name} and {x_name}{best_of}{chosen_box}", fontsize=10)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _place(values: list[ParamValue], value: ParamValue) -> int:
    return values.index(value)


def _day(time_ms: int) -> str:
    from infra.report.trades import iso_utc

    return iso_utc(time_ms)[:16].replace("T", " ")


def _turn(values: list[ParamValue]) -> int:
    """Tick labels upright while they fit side by side."""
    return 90 if sum(len(str(value)) for value in values) > 40 else 0

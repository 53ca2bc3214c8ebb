"""`stds sweep`: one strategy line over a grid of parameters, each set exactly `stds replay`, on every core."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.cli.options import add_paper_options, add_region_option, epoch_ms

if TYPE_CHECKING:
    from infra.cli.options import Commands
    from infra.research.optuna_study import StudyOptions
    from infra.research.sweep import SweepRun
    from infra.research.sweep_table import SweepTable

EXAMPLES = """\
examples:
  stds sweep DATA --strategy sma_cross --grid fast=5:50:5 --grid slow=30,60,120 --out out/sweep
  stds sweep DATA --strategy sma_cross --grid fast=5:50:5 --grid slow=30:300:10 --samples 40 --seed 1 --out out/rs
  stds sweep DATA --strategy sma_cross --grid fast=2:100 --grid slow=20:600:5 --sampler optuna --trials 100 --out o
  stds sweep DATA --strategy sma_cross --grid fast=5:30:5 --grid slow=60,120 --walk-forward train=7d,test=2d --out o
  stds sweep DATA --config sweep.toml --out out/sweep          # a [strategies] line and a [sweep] table
  stds sweep DATA --strategy sma_cross --grid fast=5:95:5 --grid slow=100:300:50 --out o --aws --max-cost 1
"""


def add(commands: Commands) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="research: replay a grid of parameter sets (optionally walk-forward) on every core",
        description=(
            "Run one strategy line for every parameter set of a grid: each set is exactly `stds replay` of it "
            "(same trades, same summary). Writes OUT/results.csv (a row per set and window), OUT/best.toml, "
            "OUT/heatmap.png (the first two varied parameters) and, walking forward, OUT/oos-equity.csv/.png; "
            "prints the top 10. Running the same command again continues where it stopped."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument("paths", nargs="+", type=Path, help="files or folders of recorded bars (as stds replay)")
    chosen = sweep.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--strategy", help="a built-in name (see `stds strategies`) or module:Class")
    chosen.add_argument("--config", type=Path, help="strategies file with the line to sweep and a [sweep] table")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a parameter's values: START:STOP:STEP (STOP included), START:STOP, or V1,V2,...",
    )
    sweep.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter held fixed (repeatable), e.g. qty=0.5",
    )
    sweep.add_argument("--symbols", help="with --strategy: only these symbols, e.g. BTC/USDT")
    sweep.add_argument("--samples", type=int, help="random search: this many distinct sets drawn from the grid")
    sweep.add_argument(
        "--sampler",
        choices=["grid", "optuna"],
        help="grid (default): every set of the grid, or --samples of them; optuna: a TPE study per train window "
        "proposes --trials sets (needs pip install 'stds[optuna]')",
    )
    sweep.add_argument("--trials", type=int, help="with --sampler optuna: the trials of each study")
    sweep.add_argument(
        "--round-size",
        type=int,
        help="with --sampler optuna: trials asked of a study at a time, run in parallel before any is told its "
        "result (default 16); the trials depend on it and on the seed, never on --workers",
    )
    sweep.add_argument(
        "--seed",
        type=int,
        help="the seed of --samples or of --sampler optuna (default 0): the same seed, the same sets",
    )
    sweep.add_argument(
        "--objective",
        choices=["sharpe", "return", "pnl", "drawdown", "win_rate"],
        help="what 'best' means, on train windows and in best.toml (default sharpe)",
    )
    windows = sweep.add_argument_group("walk-forward", "choose on a train window, report on the test window after it")
    windows.add_argument(
        "--walk-forward",
        metavar="train=30d,test=7d[,step=7d]",
        help="rolling folds from the first bar; step defaults to the test length (m, h, d, w)",
    )
    windows.add_argument(
        "--train",
        action="append",
        default=[],
        metavar="FROM..TO",
        help="an explicit train range, UTC (e.g. 2025-03-01..2025-03-08); pair each with --test",
    )
    windows.add_argument("--test", action="append", default=[], metavar="FROM..TO", help="its test range")
    sweep.add_argument("--out", type=Path, required=True, help="the sweep's folder (kept: a rerun continues it)")
    sweep.add_argument("--workers", type=int, help="processes (default: every core this process may use)")
    sweep.add_argument(
        "--batch",
        type=int,
        default=32,
        help="items of one window run together, sharing one pass over the bars (default 32)",
    )
    sweep.add_argument("--fresh", action="store_true", help="discard the items OUT already holds")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_paper_options(sweep)
    aws = sweep.add_argument_group("on AWS", "the items on Lambda under Step Functions (deploy: stds deploy --sweeps)")
    aws.add_argument("--aws", action="store_true", help="run the items on the research stack, not on this machine")
    aws.add_argument("--prefix", default="stds-", help="the research stack's prefix (stds deploy --sweeps --prefix)")
    add_region_option(aws)
    aws.add_argument(
        "--max-cost",
        type=Decimal,
        default=Decimal(5),
        help="refuse to start when the estimate (stds cost --sweep) is above this many USD (default 5)",
    )
    sweep.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from infra.research.sweep import run_sweep

    try:
        report = run_sweep(sweep_run(args))
    except KeyboardInterrupt:
        print(f"stds sweep: interrupted; the items done are kept in {args.out}: run the same command to continue",
              file=sys.stderr)  # fmt: skip
        return 130
    rate = report.strategy_bars / report.seconds if report.seconds > 0 else 0.0
    print(
        f"{report.items - report.done_before - len(report.failed)} items run in {report.seconds:.1f} s "
        f"({rate:,.0f} strategy-bars/s), {report.done_before} done earlier, {len(report.failed)} failed"
    )
    if report.failed:
        print("stds sweep: some items failed (listed above); run the same command again to retry them", file=sys.stderr)
        return 1
    return 0


def sweep_run(args: argparse.Namespace) -> SweepRun:
    """The options (and the [sweep] table, under them) as the few typed parts a sweep needs."""
    from infra.cli.options import config_from_args, with_paper_args
    from infra.config import ConfigError
    from infra.research.grid import ParamSet, expand, grid_values, parse_grid_option, sample
    from infra.research.items import SweepLine
    from infra.research.on_aws import AwsTarget
    from infra.research.plan import usable_sets
    from infra.research.sweep import SweepRun
    from infra.research.sweep_table import SweepTable, load_sweep_file
    from infra.research.workers import default_workers

    if args.config:
        if args.symbols:
            raise ConfigError("--symbols goes with --strategy; put symbols on the [strategies] line instead")
        config, table = load_sweep_file(args.config)
        config, config_dir = with_paper_args(config, args), args.config.parent
        name = _line_name(config.strategies, table.strategy, args.config)
    else:
        table = SweepTable()
        config, config_dir = config_from_args(_without_params(args), strategy_symbols=args.symbols)
        (name,) = config.strategies
    axes = {key: grid_values(spec, f"[sweep] grid.{key}") for key, spec in table.grid.items()}
    axes |= dict(parse_grid_option(text) for text in args.grid)
    if not axes:
        raise ConfigError("give the parameters to sweep: --grid NAME=SPEC (repeatable) or a [sweep] grid table")
    fixed = dict(_key_value(item) for item in args.param)
    clash = sorted(set(fixed) & set(axes))
    if clash:
        raise ConfigError(f"{', '.join(clash)}: given both as --param and as a grid; give it once")
    line = config.strategies[name]
    line = line.model_copy(update={"params": {**line.params, **fixed}})
    sweep_line = SweepLine(name, line, config, config_dir)
    samples = args.samples if args.samples is not None else table.samples
    seed = args.seed if args.seed is not None else table.seed
    study = _study_options(args, table, samples, seed)
    sets: list[ParamSet] = []  # with optuna, each study proposes its own
    if study is None:
        sets, refused = usable_sets(sweep_line, expand(axes))
        if refused:
            print(f"{len(refused)} parameter sets skipped, the strategy refuses them, e.g. {refused[0]}")
        if not sets:
            raise ConfigError(f"no parameter set of the grid is valid for {line.use}: {refused[0]}")
        if samples is not None:
            sets = sample(sets, samples, seed)
    return SweepRun(
        paths=args.paths,
        line=sweep_line,
        sets=sets,
        axes=axes,
        objective=args.objective or table.objective,
        lay_folds=_folds(args, table.walk_forward),
        out=args.out,
        workers=args.workers or default_workers(),
        batch=max(1, args.batch),
        fresh=args.fresh,
        progress=not args.no_progress and sys.stderr.isatty(),
        aws=AwsTarget(args.prefix, args.region, args.max_cost) if args.aws else None,
        study=study,
    )


def _study_options(args: argparse.Namespace, table: SweepTable, samples: int | None, seed: int) -> StudyOptions | None:
    """--sampler optuna's settings, checked before anything is read or run; None for a grid (or --samples)."""
    from infra.config import ConfigError
    from infra.research.grid import is_range
    from infra.research.optuna_study import StudyOptions, require_optuna

    trials = args.trials if args.trials is not None else table.trials
    round_size = args.round_size if args.round_size is not None else table.round_size
    if (args.sampler or table.sampler) != "optuna":
        if args.trials is not None or args.round_size is not None:
            raise ConfigError(
                "--trials and --round-size go with --sampler optuna; a grid runs every set (--samples N: N)"
            )
        return None
    if trials is None:
        raise ConfigError("--sampler optuna needs --trials N: how many trials each study runs")
    for option, value in (("--trials", trials), ("--round-size", round_size)):
        if value <= 0:
            raise ConfigError(f"{option} {value}: give a positive number of trials")
    if samples is not None:
        raise ConfigError("--samples draws sets from the grid at random; with --sampler optuna give --trials instead")
    if args.aws:
        raise ConfigError(
            "--sampler optuna runs on this machine only: each round of trials waits for the one before, which on "
            "AWS would be one Step Functions execution per round; sweep a grid or --samples with --aws"
        )
    require_optuna()
    given = (text.partition("=") for text in args.grid)
    specs = dict(table.grid) | {name.strip(): spec.strip() for name, _, spec in given}
    ranges = frozenset(name for name, spec in specs.items() if is_range(spec))
    return StudyOptions(trials, seed, round_size, ranges)


def _folds(args: argparse.Namespace, table_walk_forward: str | None) -> Any:
    from infra.research.windows import Span, explicit_folds, parse_walk_forward, rolling_folds, whole

    if args.train or args.test:
        if args.walk_forward:
            raise ValueError("give --walk-forward or --train/--test ranges, not both")
        trains = [_range(text, "--train") for text in args.train]
        tests = [_range(text, "--test") for text in args.test]
        folds = explicit_folds([Span(*t) for t in trains], [Span(*t) for t in tests])
        return lambda first_ms, end_ms: folds
    text = args.walk_forward or table_walk_forward
    if text:
        spec = parse_walk_forward(text)
        return lambda first_ms, end_ms: rolling_folds(spec, first_ms, end_ms)
    return whole


def _range(text: str, option: str) -> tuple[int, int]:
    start, sep, end = text.partition("..")
    if not sep:
        raise ValueError(f"{option} {text!r}: expected FROM..TO, e.g. 2025-03-01..2025-03-08T12:00")
    return epoch_ms(start.strip()), epoch_ms(end.strip())


def _line_name(lines: dict[str, Any], wanted: str | None, path: Path) -> str:
    from infra.config import ConfigError

    if wanted is not None:
        if wanted not in lines:
            raise ConfigError(f"{path}: [sweep] strategy = {wanted!r} is not a [strategies] line ({', '.join(lines)})")
        return wanted
    if len(lines) != 1:
        raise ConfigError(f'{path}: several [strategies] lines; name the one to sweep: [sweep] strategy = "NAME"')
    (name,) = lines
    return name


def _without_params(args: argparse.Namespace) -> argparse.Namespace:
    """--param holds the sweep's fixed parameters, added per item; the line itself is built without them."""
    return argparse.Namespace(**{**vars(args), "param": []})


def _key_value(item: str) -> tuple[str, Any]:
    from infra.research.grid import grid_values

    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--param {item!r}: expected KEY=VALUE, e.g. --param qty=0.5")
    (parsed,) = grid_values(value.strip(), f"--param {item!r}")
    return key.strip(), parsed

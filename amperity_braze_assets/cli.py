"""The ``amperity-braze`` command: the project's own tools beside ``dagster``.

amperity-braze sample-data --data-dir DIR --customers N --seed S
amperity-braze demo [--customers N] [--seed S] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path


def _utc_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sample_data(args: argparse.Namespace) -> int:
    from amperity_braze_assets.sample_data import generate_sample_data

    summary = generate_sample_data(
        args.data_dir,
        customers=args.customers,
        seed=args.seed,
        reference_time=args.reference_date,
    )
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def _sample_currents(args: argparse.Namespace) -> int:
    from amperity_braze_assets.currents.sample import sample_currents_for_data_dir

    summary = sample_currents_for_data_dir(
        args.data_dir, out_dir=args.out_dir, seed=args.seed, reference_time=args.reference_date
    )
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from amperity_braze_assets.demo import run_demo

    return run_demo(data_dir=args.data_dir, customers=args.customers, seed=args.seed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amperity-braze", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample-data", help="write messy sample sources and their truth")
    sample.add_argument("--data-dir", type=Path, required=True)
    sample.add_argument("--customers", type=int, default=10_000)
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument(
        "--reference-date",
        type=_utc_datetime,
        default=None,
        help="the 'now' dates count back from (ISO date/time); default: drawn from the seed",
    )
    sample.set_defaults(run=_sample_data)

    currents = commands.add_parser(
        "sample-currents",
        help="write a sample Braze Currents tree (real key layout) for the people of DIR",
    )
    currents.add_argument("--data-dir", type=Path, required=True)
    currents.add_argument(
        "--out-dir", type=Path, default=None, help="default DIR/currents (CURRENTS_LOCAL_DIR)"
    )
    currents.add_argument("--seed", type=int, default=11)
    currents.add_argument("--reference-date", type=_utc_datetime, default=None)
    currents.set_defaults(run=_sample_currents)

    commands.add_parser(
        "emulator",
        add_help=False,
        help="a strict Braze /users/track emulator on 127.0.0.1 (emulator --help for options)",
    )

    demo = commands.add_parser(
        "demo", help="generate sample data and materialize every asset, end to end"
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="defaults to AMPERITY_BRAZE_DATA_DIR, else ./data",
    )
    demo.add_argument("--customers", type=int, default=5_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["emulator"]:
        # The emulator owns its options (rate limit, faults, ...): hand them over whole.
        from amperity_braze_assets.braze.emulator import main as emulator_main

        return emulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

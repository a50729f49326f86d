"""The ``amperity-braze`` command: the project's own tools beside ``dagster``.

amperity-braze sample-data --data-dir DIR --customers N --seed S
amperity-braze demo [--customers N] [--seed S] [--data-dir DIR]
amperity-braze explain-match SOURCE:ID SOURCE:ID
amperity-braze check-sources [--rows N] [--source NAME ...]
amperity-braze check-braze [--destination NAME ...]
amperity-braze console [--host HOST] [--port PORT]
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit


def _utc_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sample_data(args: argparse.Namespace) -> int:
    """write messy sample sources and their truth"""
    from amperity_braze_assets.devtools.sample_data import generate_sample_data

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
    """write a sample Braze Currents tree (real key layout) for the people of DIR"""
    from amperity_braze_assets.devtools.sample_currents import sample_currents_for_data_dir

    summary = sample_currents_for_data_dir(
        args.data_dir, out_dir=args.out_dir, seed=args.seed, reference_time=args.reference_date
    )
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """generate sample data and materialize every asset, end to end"""
    from amperity_braze_assets.devtools.demo import run_demo

    return run_demo(data_dir=args.data_dir, customers=args.customers, seed=args.seed)


def _explain_match(args: argparse.Namespace) -> int:
    """why two records are, or are not, one person (the last identity run's evidence)

    Each field's evidence, the weights, the prior and the decision for two customer records,
    and the chain of links when they meet only through others. Reads the stored
    customer_records, identity_resolution and the run's model under AMPERITY_BRAZE_DATA_DIR (or
    AMPERITY_BRAZE_STORAGE_URL)."""
    import polars as pl
    from dagster_aws.s3 import S3Resource

    from amperity_braze_assets.config import load_project_config
    from amperity_braze_assets.config_file import ConfigError
    from amperity_braze_assets.identity.assets import (
        ASSIGNMENTS_STATE,
        MODEL_STATE,
        matched_record_columns,
    )
    from amperity_braze_assets.identity.config import parse_reference
    from amperity_braze_assets.identity.explain import explain_match
    from amperity_braze_assets.identity.rules import StewardPairs
    from amperity_braze_assets.identity.scoring import Model
    from amperity_braze_assets.settings import load_settings
    from amperity_braze_assets.storage.parquet_io_manager import ParquetIOManager
    from amperity_braze_assets.storage.state_store import StateStore

    try:
        first, second = parse_reference(args.first), parse_reference(args.second)
        settings = load_settings()
        config = load_project_config(settings, check_files=False)
    except (ValueError, ConfigError) as exc:
        print(f"explain-match: {exc}", file=sys.stderr)
        return 2
    s3 = S3Resource(endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region)
    state = StateStore(base_path=settings.state_base, s3=s3)
    resolved = state.read(ASSIGNMENTS_STATE)
    model_table = state.read(MODEL_STATE)
    try:
        records = ParquetIOManager(base_path=settings.storage_base, s3=s3).read_asset(
            "customer_records", matched_record_columns(config)
        )
    except FileNotFoundError:
        records = None
    if records is None or resolved is None or model_table is None:
        print(
            "explain-match: no identity run found (customer_records under "
            f"{settings.storage_base}, the run's state under {settings.state_base}); materialize "
            "customer_records and identity_resolution first (e.g. `make demo`), with the same "
            "AMPERITY_BRAZE_DATA_DIR.",
            file=sys.stderr,
        )
        return 2
    keys = records.select(pl.col("source").cast(pl.String), pl.col("record_id").cast(pl.String))
    identity = config.identity
    steward = StewardPairs.for_records(
        keys, identity.steward_pairs("always_merge"), identity.steward_pairs("never_merge")
    )
    model, run = Model.from_description(model_table)
    try:
        text = explain_match(
            records,
            resolved,
            model,
            run,
            first,
            second,
            steward,
            configured_threshold=identity.match_threshold,
        )
    except LookupError as exc:
        print(f"explain-match: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0


def _check_sources(args: argparse.Namespace) -> int:
    """read each source and report files, rows, quarantine and parse rates per column

    Loads the configuration (every error at once), reads each source as a run would, and
    prints per source the files matched, the rows read and quarantined by reason, the likely
    encoding of undecodable files, and per tagged column the share of values that parse, with
    three that do not. Exit status: 0 when every source is within its max_reject_share, 1
    otherwise, 2 for a configuration error."""
    from amperity_braze_assets.config import load_project_config
    from amperity_braze_assets.config_file import ConfigError
    from amperity_braze_assets.settings import load_settings
    from amperity_braze_assets.source_check import check_source, format_report

    try:
        settings = load_settings()
        config = load_project_config(settings)
    except (ValueError, ConfigError) as exc:
        print(f"check-sources: {exc}", file=sys.stderr)
        return 2
    if _unknown_names("check-sources", "source", args.source, [s.name for s in config.sources]):
        return 2
    sources = [s for s in config.sources if not args.source or s.name in args.source]
    s3_client = None
    if any(pattern.startswith("s3://") for source in sources for pattern in source.files):
        from dagster_aws.s3 import S3Resource

        s3_client = S3Resource(
            endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region
        ).get_client()
    customer_sources = frozenset(s.name for s in config.customer_sources)
    results = [
        check_source(
            source,
            settings.data_dir,
            s3_client,
            customer_sources,
            rows=args.rows,
            default_phone_region=settings.default_phone_region,
            money=config.money,
        )
        for source in sources
    ]
    print(f"configuration: {config.config_dir} (valid); data: {settings.data_dir}\n")
    print(format_report(results))
    return 0 if all(result.ok for result in results) else 1


def _unknown_names(command: str, what: str, asked: list[str] | None, names: list[str]) -> bool:
    """Whether ``asked`` names one not configured; if so, says which and what is configured."""
    unknown = [name for name in asked or [] if name not in names]
    if unknown:
        print(
            f"{command}: no {what} named {', '.join(unknown)}; the configured {what}s are "
            f"{', '.join(names)}.",
            file=sys.stderr,
        )
    return bool(unknown)


def _check_braze(args: argparse.Namespace) -> int:
    """check each Braze workspace's custom attributes and the key's permissions

    For each destination (destinations.yaml) with its key set: probes that the key may call
    /users/track (with a request that writes nothing), reads the workspace's custom attributes
    (GET /custom_attributes, which needs custom_attributes.get) and holds them against the custom
    attributes the destination writes (attributes.yaml). Prints per destination each finding with
    its fix: blocklisted in Braze, a different data type, a name spelled otherwise in the
    workspace (case or separators), a missing permission; a destination without a key is
    skipped. Exit status: 0 when nothing fails (name flags only warn), 1 when a blocklisted
    attribute, a type mismatch or a missing permission is found, 2 for a configuration error."""
    from amperity_braze_assets.activation.campaigns import campaign_flags, load_campaigns
    from amperity_braze_assets.activation.config import load_attribute_config
    from amperity_braze_assets.braze import workspace
    from amperity_braze_assets.braze.client import BrazeError
    from amperity_braze_assets.braze.destinations import load_destinations
    from amperity_braze_assets.braze.resources import braze_resource_for
    from amperity_braze_assets.braze.workspace_assets import findings_for
    from amperity_braze_assets.config import load_project_config
    from amperity_braze_assets.config_file import ConfigError
    from amperity_braze_assets.settings import load_settings

    try:
        settings = load_settings()
        config = load_project_config(settings, check_files=False)
        mapping = load_attribute_config(config)
        destinations = load_destinations(settings)
        flags = campaign_flags(
            load_campaigns(config.config_dir, mapping, {d.name: d.attributes for d in destinations})
        )
    except (ValueError, ConfigError) as exc:
        print(f"check-braze: {exc}", file=sys.stderr)
        return 2
    if _unknown_names(
        "check-braze", "destination", args.destination, [d.name for d in destinations]
    ):
        return 2
    failing = False
    for destination in destinations:
        if args.destination and destination.name not in args.destination:
            continue
        # The resource's key is a dg.EnvVar: read from the environment, as in a run.
        resource = braze_resource_for(destination, settings).process_config_and_initialize()
        declared = workspace.declared_attributes(
            mapping, destination.attributes, flags.get(destination.name, ())
        )
        try:
            frame = workspace.findings_frame(findings_for(destination, resource, declared))
        except (ValueError, BrazeError) as exc:
            print(f"{destination.name}: could not check the workspace: {exc}")
            failing = True
            continue
        print(workspace.format_findings(destination.name, frame))
        failing |= workspace.verdict(frame).severity == workspace.ERROR
    return 1 if failing else 0


def _console(args: argparse.Namespace) -> int:
    """serve the sync console: each sync, its rows, and a person's records and values sent

    Refreshes the console's database (<data dir>/console/console.db; the sync jobs refresh it
    too) from the ledgers, dry runs, stored assets and Dagster's run history, then serves it
    with Datasette: syncs per destination with their status, each run's page, rejected rows
    with their reason, search, CSV and JSON export, and person lookup by external_id, email or
    phone. It listens on 127.0.0.1 unless --host says otherwise. Every page shows personal
    data, so only its root user sees any: open the one-time sign-in link it prints."""
    from amperity_braze_assets.config_file import ConfigError
    from amperity_braze_assets.console.assets import refresh_outside_a_run
    from amperity_braze_assets.console.server import build_console, serve, sign_in_url
    from amperity_braze_assets.settings import load_settings

    try:
        settings = load_settings()
        port = args.port or urlsplit(settings.console_url).port or 8010
        base_url = f"http://{_url_host(args.host)}:{port}"
        path, figures = refresh_outside_a_run(settings, base_url)
    except (ValueError, ConfigError) as exc:
        print(f"console: {exc}", file=sys.stderr)
        return 2
    console = build_console(path, settings.default_phone_region)
    print(f"Sync console over {path}: {figures.runs:,} syncs, {figures.people:,} people.")
    if args.host not in LOOPBACK:
        print(f"console: listening on {args.host}, beyond this machine.", file=sys.stderr)
    print(f"Sign in (the link works once: keep it to yourself): {sign_in_url(console, base_url)}")
    print(f"Then: {base_url}/console/syncs")
    if base_url != settings.console_url:
        # The sync jobs write their links (braze_sync's metadata, the runs' pages) with the
        # setting: say how to make them point here.
        print(
            f"console: the sync jobs link to {settings.console_url}; set "
            f"AMPERITY_BRAZE_CONSOLE_URL={base_url} where Dagster runs so their links lead here.",
            file=sys.stderr,
        )
    serve(console, args.host, port)
    return 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _url_host(host: str) -> str:
    """The host as a URL names it: an IPv6 address in brackets, any-address as loopback."""
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _positive_rows(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("--rows takes a whole number of at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amperity-braze", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _add_sample_data(commands)
    _add_sample_currents(commands)
    _add_emulator(commands)
    _add_demo(commands)
    _add_explain_match(commands)
    _add_check_sources(commands)
    _add_check_braze(commands)
    _add_console(commands)
    return parser


def _command(
    commands: argparse._SubParsersAction, name: str, run: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """The sub-command ``name``, which calls ``run``. ``run``'s docstring is its help: the first
    paragraph is its line in ``amperity-braze --help``, the rest its own --help text (argparse
    refills both, so the docstring's line breaks do not show)."""
    summary, _, details = inspect.cleandoc(run.__doc__ or "").partition("\n\n")
    command = commands.add_parser(name, help=summary, description=details or None)
    command.set_defaults(run=run)
    return command


def _add_sample_data(commands: argparse._SubParsersAction) -> None:
    sample = _command(commands, "sample-data", _sample_data)
    sample.add_argument("--data-dir", type=Path, required=True)
    sample.add_argument("--customers", type=int, default=10_000)
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument(
        "--reference-date",
        type=_utc_datetime,
        help="the 'now' dates count back from (ISO date/time); default: drawn from the seed",
    )


def _add_sample_currents(commands: argparse._SubParsersAction) -> None:
    currents = _command(commands, "sample-currents", _sample_currents)
    currents.add_argument("--data-dir", type=Path, required=True)
    currents.add_argument("--out-dir", type=Path, help="default DIR/currents (CURRENTS_LOCAL_DIR)")
    currents.add_argument("--seed", type=int, default=11)
    currents.add_argument("--reference-date", type=_utc_datetime)


def _add_demo(commands: argparse._SubParsersAction) -> None:
    demo = _command(commands, "demo", _demo)
    demo.add_argument(
        "--data-dir", type=Path, help="defaults to AMPERITY_BRAZE_DATA_DIR, else ./data"
    )
    demo.add_argument("--customers", type=int, default=5_000)
    demo.add_argument("--seed", type=int, default=7)


def _add_explain_match(commands: argparse._SubParsersAction) -> None:
    explain = _command(commands, "explain-match", _explain_match)
    explain.add_argument("first", metavar="SOURCE:ID", help="e.g. pos:P00012345")
    explain.add_argument("second", metavar="SOURCE:ID", help="e.g. web:48213")


def _add_check_sources(commands: argparse._SubParsersAction) -> None:
    check = _command(commands, "check-sources", _check_sources)
    check.add_argument(
        "--rows",
        type=_positive_rows,
        metavar="N",
        help="read only the first N data rows of each file (default: whole files)",
    )
    _add_only(check, "source")


def _add_check_braze(commands: argparse._SubParsersAction) -> None:
    check = _command(commands, "check-braze", _check_braze)
    _add_only(check, "destination")


def _add_only(check: argparse.ArgumentParser, what: str) -> None:
    """``--<what> NAME ...``: check only these (``--source a --source b`` checks both)."""
    check.add_argument(
        f"--{what}",
        nargs="+",
        action="extend",
        metavar="NAME",
        help=f"check only these {what}s (default: every configured {what})",
    )


def _add_console(commands: argparse._SubParsersAction) -> None:
    console = _command(commands, "console", _console)
    console.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1: this machine only)",
    )
    console.add_argument(
        "--port", type=int, default=None, help="default: AMPERITY_BRAZE_CONSOLE_URL's, else 8010"
    )


def _add_emulator(commands: argparse._SubParsersAction) -> None:
    """The emulator parses its own options (``main`` hands them over): here only its help line."""
    commands.add_parser(
        "emulator",
        add_help=False,
        help="a strict Braze /users/track emulator on 127.0.0.1 (emulator --help for options)",
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["emulator"]:
        # The emulator owns its options (rate limit, faults, ...): hand them over whole.
        from amperity_braze_assets.devtools.emulator import main as emulator_main

        return emulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

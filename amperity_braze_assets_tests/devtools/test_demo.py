"""The demo runs end to end on the embedded defaults and materializes the whole graph."""

import re

import dagster as dg
import polars as pl

from amperity_braze_assets.cli import main


def test_demo_materializes_every_asset(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("AMPERITY_BRAZE_CONFIG_DIR", raising=False)
    data_dir = tmp_path / "data"
    assert main(["demo", "--data-dir", str(data_dir), "--customers", "400", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "success" in printed
    storage = data_dir / "storage"
    for asset in (
        "raw_pos",
        "raw_web",
        "raw_loyalty",
        "raw_orders",
        "identity_resolution",
        "customer_360",
        "customer_transactions",
        "customer_engagement",
        "audiences",
        "braze_customer_attributes",
        "braze_attribute_diff",
        "braze_sync_log",
    ):
        assert (storage / f"{asset}.parquet").exists(), asset
        assert asset in printed
    # The sync ran against the emulator and Braze accepted every person.
    people_sent = pl.read_parquet(storage / "braze_customer_attributes.parquet").height
    assert re.search(rf"braze_sync\s+sent={people_sent:,}, accepted={people_sent:,},", printed)
    assert "Braze emulator: requests=" in printed
    # Purchases (the sample orders' line items of the last 30 days) and custom events
    # (loyalty_joined, order_placed) reached the emulator, which files each one it accepts.
    held = re.search(
        r"this run sent, [\d,]+ objects, ([\d,]+) purchases and ([\d,]+) custom", printed
    )
    purchases, events = (int(n.replace(",", "")) for n in held.groups())
    assert purchases > 0 and events > 0
    sync = re.search(
        r"braze_sync\s+.*purchases=([\d,]+), events=([\d,]+), "
        r"purchases_accepted=([\d,]+), events_accepted=([\d,]+)",
        printed,
    )
    assert [int(n.replace(",", "")) for n in sync.groups()] == [purchases, events] * 2
    lines = pl.read_parquet(storage / "order_lines.parquet")
    assert lines.height > 0 and set(lines["source"]) == {"orders"}
    # Engagement from the sample Currents tree reached the Braze attributes.
    attributes = pl.read_parquet(storage / "braze_customer_attributes.parquet")
    assert attributes["email_opens_30d"].drop_nulls().sum() > 0
    # The sample's corrupt rows are quarantined with reasons, not lost.
    rejects = pl.read_parquet(storage / "raw_pos_rejects.parquet")
    assert rejects.height >= 3 and rejects["reason"].null_count() == 0
    truth = pl.read_parquet(data_dir / "truth" / "sample_truth.parquet")
    pos_truth = truth.filter(pl.col("source") == "pos")
    pos = pl.read_parquet(storage / "raw_pos.parquet")
    assert pos.height + rejects.height == pos_truth.height
    people = pl.read_parquet(storage / "customer_360.parquet")
    assert people["amperity_id"].is_unique().all()
    _assert_no_personal_data_in_run_history(people)
    # A second run keeps everyone's id: nothing changed in the sources.
    first = pl.read_parquet(storage / "identity_resolution.parquet")
    assert main(["demo", "--data-dir", str(data_dir), "--customers", "400", "--seed", "3"]) == 0
    # ... and sends no purchase or event again (the event ledger has them), to a fresh emulator,
    # which the summary says, with what the ledger kept from being sent again.
    printed = capsys.readouterr().out
    assert "The emulator starts empty with every demo run" in printed
    assert "this run sent, 0 objects, 0 purchases and 0 custom events" in printed
    assert re.search(r"([\d,]+) of \1 people unchanged were not sent again", printed)
    second = pl.read_parquet(storage / "identity_resolution.parquet")
    joined = first.join(second, on=["source", "record_id"], suffix="_again")
    assert joined.height == first.height
    assert (joined["amperity_id"] == joined["amperity_id_again"]).all()


def _assert_no_personal_data_in_run_history(people: pl.DataFrame) -> None:
    """Every event the demo's runs left in the Dagster instance (previews and figures included)
    holds no one's email address or phone number as written."""
    instance = dg.DagsterInstance.get()
    history = "\n".join(
        repr(entry) for run in instance.get_runs() for entry in instance.all_logs(run.run_id)
    ).lower()
    assert "preview" in history and "•••@" in history  # previews are there, masked
    emails = people["email"].drop_nulls().str.to_lowercase().to_list()
    phones = people["phone"].drop_nulls().str.replace_all(r"^\+1", "").to_list()
    # Whole names, street lines and birth dates, as the customer 360 holds them.
    # (surnames of seven letters or more, as whole words: no log word is one of them)
    names = people["full_name"].drop_nulls().str.to_lowercase().to_list()
    surnames = {s for s in people["surname"].drop_nulls().str.to_lowercase() if len(s) >= 7}
    streets = people["address"].drop_nulls().str.to_lowercase().to_list()
    births = people["birthdate"].drop_nulls().cast(pl.String).to_list()
    assert len(names) > 100 and len(surnames) > 50 and len(streets) > 200 and len(births) > 200
    words = set(re.findall(r"[^\W\d_]+", history))
    shown = [v for v in emails + phones + names + streets + births if v in history]
    shown += sorted(surnames & words)
    assert not shown, f"{len(shown)} pieces of personal data in the run history: {shown[:3]}"

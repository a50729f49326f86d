"""Braze Currents: engagement events back from Braze, as Avro files in S3.

Plain Python, no Dagster: ``keys`` (what a key says), ``reader`` (Avro files to deduplicated
frames), ``source`` (S3 or a local folder), ``tables`` (event type to table), ``ingest``
(exactly-once appends through the state store), ``engagement`` (per-person attributes) and
``sample`` (a sample tree). The Dagster face: ``assets``, ``sensors``, ``resources``.
"""

"""``BrazeResource``: the Dagster face of ``BrazeClient``; configuration only, logic in client.py."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field

from amperity_braze_assets.braze.client import (
    CLIENT_TUNING,
    REDACTED,
    BrazeClient,
    ClientSettings,
    ClientTuning,
    resolve_rest_endpoint,
)
from amperity_braze_assets.braze.destinations import Destination, api_key_set, destination_endpoint
from amperity_braze_assets.settings import Settings


class BrazeResource(dg.ConfigurableResource):
    """One Braze workspace: where it is, how to identify people, and how hard to push."""

    api_key: str | None = Field(
        default=None, description="REST API key with users.track; pass dg.EnvVar('BRAZE_API_KEY')."
    )
    instance: str | None = Field(
        default=None, description="US-01..US-08, US-10, EU-01, EU-02, AU-01, ID-01"
    )
    rest_endpoint: str | None = Field(
        default=None, description="Base URL; plain http only for loopback (the emulator)."
    )
    identifier_type: str = "external_id"
    update_existing_only: bool = False
    # The client tuning a destination sets, with the client's defaults.
    objects_per_request: int = ClientTuning.objects_per_request
    rate_limit: int = ClientTuning.rate_limit
    rate_window_seconds: float = ClientTuning.rate_window_seconds
    concurrency: int = ClientTuning.concurrency
    connect_timeout: float = ClientTuning.connect_timeout
    read_timeout: float = ClientTuning.read_timeout
    max_attempts: int = ClientTuning.max_attempts
    backoff_base: float = ClientSettings.backoff_base
    backoff_max: float = ClientSettings.backoff_max

    def __repr_args__(self) -> Any:
        # Pydantic's repr lists every field: show only whether a key is set.
        for name, value in super().__repr_args__():
            yield name, (REDACTED if value else None) if name == "api_key" else value

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key)

    def endpoint(self) -> str:
        return resolve_rest_endpoint(self.instance, self.rest_endpoint)

    def client_settings(self) -> ClientSettings:
        tuning = (*CLIENT_TUNING, "backoff_base", "backoff_max")
        return ClientSettings(
            rest_endpoint=self.endpoint(), **{name: getattr(self, name) for name in tuning}
        )

    def get_client(self) -> BrazeClient:
        """A new client (one pooled session); close it when done (it is a context manager)."""
        return BrazeClient(self.client_settings(), self.api_key or "")


def braze_resource_for(destination: Destination, settings: Settings) -> BrazeResource:
    """The resource of one destination: the key through ``dg.EnvVar`` (never read into the
    definitions), left unset when its variable is unset so that dry runs work without a key.

    Its client paces at the destination's share of the workspace's rate limit (split among the
    destinations on that workspace and the sync's shards), so that together they stay within it.
    """
    instance, endpoint = destination_endpoint(destination, settings)
    tuning = {name: getattr(destination, name) for name in CLIENT_TUNING}
    budget = destination.rate_budget(settings.sync_shards)
    tuning.update(rate_limit=budget.share, rate_window_seconds=budget.window_seconds)
    return BrazeResource(
        api_key=dg.EnvVar(destination.api_key_env) if api_key_set(destination, settings) else None,
        instance=instance,
        rest_endpoint=endpoint,
        identifier_type=destination.identifier,
        update_existing_only=destination.update_existing_only,
        **tuning,
    )


def build_braze_resources(
    destinations: tuple[Destination, ...], settings: Settings
) -> dict[str, BrazeResource]:
    """``{resource key: BrazeResource}`` for every destination (``braze``, ``braze__brand_b``)."""
    return {d.resource_key: braze_resource_for(d, settings) for d in destinations}

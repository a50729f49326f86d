"""The Dagster face of the workspace preflight: per destination ``braze_workspace_check``
(group ``braze``), which reads the workspace's custom attributes and the key's permissions and
holds them against the attributes the destination writes (``workspace.py``).

``braze_attribute_diff`` depends on it and its check is blocking: the jobs that sync run the
preflight first, and an error (a blocklisted or mistyped attribute, a key without the
permission) stops the diff and the sync in that run; a warning (a name to align, or no key)
lets them go on.

The check is a ``check_spec`` of the asset rather than a separate ``@asset_check``: its evidence
is the live workspace, read in the same step; judging a stored table again would judge a stale
workspace.
"""

from typing import TYPE_CHECKING

import dagster as dg

from amperity_braze_assets.braze import workspace
from amperity_braze_assets.braze.client import BrazeConfigError, BrazeError
from amperity_braze_assets.braze.destinations import Destination, load_destinations
from amperity_braze_assets.braze.resources import BrazeResource
from amperity_braze_assets.braze.workspace_client import WorkspaceClient
from amperity_braze_assets.settings import Settings

if TYPE_CHECKING:  # the attribute mapping is parsed upstream (activation/config.py)
    from amperity_braze_assets.activation.config import AttributeConfig

BRAZE_GROUP = "braze"
WORKSPACE_ASSET = "braze_workspace_check"
WORKSPACE_CHECK = "workspace_accepts_declared_attributes"
SEVERITIES = {
    workspace.ERROR: dg.AssetCheckSeverity.ERROR,
    workspace.WARN: dg.AssetCheckSeverity.WARN,
}


def build_workspace_assets(
    mapping: "AttributeConfig",
    settings: Settings,
    destinations: tuple[Destination, ...] | None = None,
    campaign_flags: dict[str, tuple[str, ...]] | None = None,
) -> list[dg.AssetsDefinition]:
    """One ``braze_workspace_check`` per destination (``braze_workspace_check__brand_b``), over
    the attributes ``mapping`` declares and its campaigns' flags (``campaign_flags``: destination
    -> names), handed in by the wiring: braze imports no activation."""
    destinations = destinations or load_destinations(settings)
    flags = campaign_flags or {}
    return [
        _workspace_asset(
            d, workspace.declared_attributes(mapping, d.attributes, flags.get(d.name, ()))
        )
        for d in destinations
    ]


def findings_for(
    destination: Destination,
    resource: BrazeResource,
    declared: list[workspace.DeclaredAttribute],
) -> list[workspace.Finding]:
    """The findings of one destination; skipped, with the reason, when it has no key."""
    if not resource.has_api_key:
        return workspace.skipped(
            f"no API key for '{destination.name}' ({destination.api_key_env} is not set), so the "
            f"workspace was not read; set {destination.api_key_env} to check it (dry runs need "
            "no key)."
        )
    with WorkspaceClient(resource.client_settings(), resource.api_key or "") as client:
        return workspace.check_workspace(client, declared)


def _workspace_asset(
    destination: Destination, declared: list[workspace.DeclaredAttribute]
) -> dg.AssetsDefinition:
    name = destination.asset_name(WORKSPACE_ASSET)
    resource_key = destination.resource_key

    @dg.asset(
        name=name,
        group_name=BRAZE_GROUP,
        # After the attributes: a run that stops on its sources sends Braze nothing, not even
        # the permission probe.
        deps=["braze_customer_attributes"],
        kinds={"braze"},
        required_resource_keys={resource_key},
        description=f"The custom attributes of Braze workspace '{destination.name}' "
        "(GET /custom_attributes) and the key's permissions, held against the attributes this "
        "destination writes: blocklisted, differently typed and differently spelled names.",
        check_specs=[
            dg.AssetCheckSpec(
                WORKSPACE_CHECK,
                asset=name,
                # An error (blocklisted, mistyped, no permission) stops the diff and the sync in
                # the same run; a warning (a name to align, or skipped without a key) does not.
                blocking=True,
                description="Fails (error) when a declared attribute is blocklisted or typed "
                "otherwise in Braze, or the key lacks a permission; warns when a name differs "
                "from the workspace's only in case or separators, or when it was skipped.",
            )
        ],
    )
    def braze_workspace_check(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        resource: BrazeResource = getattr(context.resources, resource_key)
        try:
            findings = findings_for(destination, resource, declared)
        except (BrazeConfigError, BrazeError) as exc:
            raise dg.Failure(f"braze_workspace_check for '{destination.name}': {exc}") from None
        frame = workspace.findings_frame(findings)
        verdict = workspace.verdict(frame)
        counts = {kind: int((frame["finding"] == kind).sum()) for kind in workspace.FINDING_KINDS}
        check = dg.AssetCheckResult(
            check_name=WORKSPACE_CHECK,
            passed=not verdict.failed,
            severity=SEVERITIES.get(verdict.severity or "", dg.AssetCheckSeverity.WARN),
            description=verdict.summary,
            metadata={kind: dg.MetadataValue.int(n) for kind, n in counts.items()},
        )
        return dg.MaterializeResult(
            metadata={
                "summary": dg.MetadataValue.md(verdict.summary),
                "declared": dg.MetadataValue.int(len(declared)),
                **{kind: dg.MetadataValue.int(n) for kind, n in counts.items()},
                "findings": dg.MetadataValue.md(workspace.findings_markdown(frame)),
            },
            check_results=[check],
        )

    return braze_workspace_check

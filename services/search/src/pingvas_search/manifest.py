"""What the search service consumes (it publishes nothing: its indexes are rebuilt from
events or a reindex). On AWS it only signs GET URLs of the images it finds, locally from
the keys the events carried (adapters/s3.py): S3 checks the signer's s3:GetObject when
the browser fetches."""

from pingvas_contracts import AwsAccess, S3Grant, ServiceSpec

SERVICE = ServiceSpec(
    name="search",
    context=None,
    description="Image and tenant-directory search: OpenSearch (Nori) or an embedded engine.",
    publishes=(),
    consumes=(
        # the gallery index
        "pingvas.render.image.created.v1",
        "pingvas.render.image.deleted.v1",
        # the operator's tenant directory
        "pingvas.tenants.tenant.created.v1",
        "pingvas.tenants.tenant.deleted.v1",
        "pingvas.billing.subscription.activated.v1",
        "pingvas.billing.subscription.changed.v1",
        "pingvas.billing.subscription.cancelled.v1",
        "pingvas.billing.subscription.expired.v1",
    ),
    aws=AwsAccess(
        s3=(
            S3Grant(
                "images",
                "tenants/*/images/*",
                ("s3:GetObject",),
                "presigned GET URLs of the images and thumbnails found",
            ),
        ),
    ),
)

"""What the render service publishes and consumes, and what it and its GPU worker call on
AWS (read by the bus topology, the IAM input deploy/terraform/access.json and the docs).

Images live in the images bucket as tenants/{tenant_id}/images/{image_id}.png and
….thumb.webp (pingvas_render.worker.images): the worker writes them, render signs
short-lived GET URLs for them, deletes one image's pair and purges a deleted tenant's
whole prefix (adapters/s3.py). Creating the bucket and the work queue at start-up
(RENDER_CREATE_RESOURCES) is for the local run only: in AWS Terraform owns them."""

from pingvas_contracts import AwsAccess, QueueGrant, S3Grant, ServiceSpec, Workload, WorkQueueSpec

#: the dispatcher -> GPU worker queue (adapters/work_queue.py reads its settings here)
WORK_QUEUE = WorkQueueSpec(
    name="render-work",
    visibility_timeout_s=60,
    # SQS's redrive is the last resort: render fails a job that ran out of attempts
    # (`worker_lost`) long before SQS dead-letters its message
    max_receive_count=10,
    dlq_retention_s=14 * 24 * 3600,
)

IMAGES = "tenants/*/images/*"

WORKER = Workload(
    name="render-worker",
    description="The GPU worker: takes WorkItems off the work queue, renders, uploads to S3.",
    aws=AwsAccess(
        queues=(
            QueueGrant(
                WORK_QUEUE.name,
                (
                    "sqs:ReceiveMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueUrl",
                ),
                "WorkQueue.receive/extend/delete and the URL lookup (worker/runner.py)",
            ),
        ),
        s3=(
            S3Grant(
                "images",
                IMAGES,
                ("s3:PutObject", "s3:PutObjectTagging"),
                "the PNG and the WebP thumbnail, tagged tenant/job (worker/storage.py put)",
            ),
            S3Grant(
                "images",
                IMAGES,
                ("s3:DeleteObject",),
                "DeleteObjects of its own uploads of a job cancelled or refused while it "
                "rendered (worker/runner.py), or they would stay behind unreferenced",
            ),
            S3Grant(
                "models",
                "models/*",
                ("s3:GetObject",),
                "the chart's model sync (aws s3 sync) into RENDER_WORKER_MODELS_DIR",
            ),
            S3Grant(
                "models",
                "models/*",
                ("s3:ListBucket",),
                "the model sync lists models/ to know what to fetch",
            ),
        ),
    ),
)

SERVICE = ServiceSpec(
    name="render",
    context="render",
    description="Generation jobs, fair scheduling, GPU workers driving InvokeAI, and images.",
    publishes=(
        "pingvas.render.job.queued.v1",
        "pingvas.render.job.started.v1",
        "pingvas.render.job.progressed.v1",
        "pingvas.render.job.completed.v1",
        "pingvas.render.job.failed.v1",
        "pingvas.render.job.cancelled.v1",
        "pingvas.render.image.created.v1",
        "pingvas.render.image.deleted.v1",
    ),
    consumes=(
        # every billing event feeds the tenant's entitlements projection
        "pingvas.billing.subscription.activated.v1",
        "pingvas.billing.subscription.changed.v1",
        "pingvas.billing.subscription.cancelled.v1",
        "pingvas.billing.subscription.expired.v1",
        "pingvas.billing.payment.succeeded.v1",
        "pingvas.billing.payment.failed.v1",
        "pingvas.billing.credits.granted.v1",
        "pingvas.billing.credits.expired.v1",
        "pingvas.billing.credits.exhausted.v1",
        "pingvas.tenants.tenant.created.v1",
        # who may delete another member's images
        "pingvas.tenants.tenant.settings_changed.v1",
        # purge the tenant's jobs and images
        "pingvas.tenants.tenant.deleted.v1",
    ),
    work_queues=(WORK_QUEUE,),
    aws=AwsAccess(
        queues=(
            QueueGrant(
                WORK_QUEUE.name,
                ("sqs:SendMessage", "sqs:GetQueueUrl"),
                "the dispatcher sends WorkItems (usecases/dispatcher.py)",
            ),
        ),
        s3=(
            S3Grant(
                "images",
                IMAGES,
                ("s3:GetObject",),
                "presigned GET URLs of images and thumbnails (api/images.py): S3 checks the "
                "signer's rights when the browser fetches",
            ),
            S3Grant(
                "images",
                "tenants/*",
                ("s3:DeleteObject",),
                "deleting an image's pair, and purging a deleted tenant's prefix",
            ),
            S3Grant(
                "images",
                "tenants/*",
                ("s3:ListBucket",),
                "the purge lists tenants/{tenant_id}/ (ListObjectsV2)",
            ),
        ),
    ),
    workloads=(WORKER,),
)

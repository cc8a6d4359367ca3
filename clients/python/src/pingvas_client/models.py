"""Pydantic models of the Pingvas API, GENERATED from docs/api/openapi.json by
datamodel-code-generator: do not edit; run clients/python/scripts/generate_models.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AnyUrl, AwareDatetime, BaseModel, ConfigDict, Field, RootModel


class Name(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=100,
            min_length=1,
            pattern="^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u001f\\u007f-\\u009f\\s\\u00ad\\u034f\\u061c\\u115f\\u1160\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\u2800\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0][^\\u0000-\\u001f\\u007f-\\u009f]*$",
            title="Name",
        ),
    ]
    """
    A person's or a team's name: something visible, no control characters (422 name-blank, name-control-characters)
    """


class Password(RootModel[str]):
    root: Annotated[str, Field(max_length=128, min_length=10, title="Password")]
    """
    10 to 128 characters, not a common password, not containing your name or email address (GET /api/v1/auth/password-policy)
    """


class AcceptInvitationIn(BaseModel):
    """
    Only for someone without an account: signs them up and joins at once.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    locale: Annotated[Literal["ko", "en"] | None, Field(title="Locale")] = None
    name: Annotated[Name | None, Field(title="Name")] = None
    password: Annotated[Password | None, Field(title="Password")] = None


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    name: Annotated[
        str,
        Field(
            max_length=100,
            min_length=1,
            pattern="^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u001f\\u007f-\\u009f\\s\\u00ad\\u034f\\u061c\\u115f\\u1160\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\u2800\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0][^\\u0000-\\u001f\\u007f-\\u009f]*$",
            title="Name",
        ),
    ]
    """
    A person's or a team's name: something visible, no control characters (422 name-blank, name-control-characters)
    """
    scopes: Annotated[
        list[
            Literal[
                "generations:read",
                "generations:write",
                "images:read",
                "images:write",
                "search:read",
                "webhooks:write",
            ]
        ],
        Field(max_length=5, min_length=1, title="Scopes"),
    ]


class ApiKeyOut(BaseModel):
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    id: Annotated[str, Field(title="Id")]
    last_used_at: Annotated[AwareDatetime | None, Field(title="Last Used At")]
    name: Annotated[str, Field(title="Name")]
    prefix: Annotated[str, Field(title="Prefix")]
    revoked_at: Annotated[AwareDatetime | None, Field(title="Revoked At")]
    scopes: Annotated[list[str], Field(title="Scopes")]


class AttemptOut(BaseModel):
    attempted_at: Annotated[AwareDatetime, Field(title="Attempted At")]
    error: Annotated[str | None, Field(title="Error")]
    latency_ms: Annotated[int, Field(title="Latency Ms")]
    number: Annotated[int, Field(title="Number")]
    response_body: Annotated[str, Field(title="Response Body")]
    """
    the first KiB of the answer
    """
    status_code: Annotated[int | None, Field(title="Status Code")]
    """
    null: no answer (see error)
    """


class AuditEntry(BaseModel):
    action: Annotated[str, Field(title="Action")]
    actor_email: Annotated[str | None, Field(title="Actor Email")] = None
    """
    the person's address
    """
    actor_id: Annotated[str | None, Field(title="Actor Id")]
    actor_kind: Annotated[str | None, Field(title="Actor Kind")]
    actor_name: Annotated[str | None, Field(title="Actor Name")] = None
    """
    the person's name (or the API key's) when it is known
    """
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    details: Annotated[dict[str, Any] | None, Field(title="Details")]
    id: Annotated[int, Field(title="Id")]
    ip: Annotated[str | None, Field(title="Ip")]
    target_email: Annotated[str | None, Field(title="Target Email")] = None
    """
    and their address
    """
    target_id: Annotated[str | None, Field(title="Target Id")]
    target_name: Annotated[str | None, Field(title="Target Name")] = None
    """
    for a person it was done to (`target_type` user): their name
    """
    target_type: Annotated[str | None, Field(title="Target Type")]


class AuditPage(BaseModel):
    items: Annotated[list[AuditEntry], Field(title="Items")]
    next_cursor: Annotated[str | None, Field(title="Next Cursor")]


class CallbackSecretOut(BaseModel):
    previous_secret_expires_at: Annotated[
        AwareDatetime | None, Field(title="Previous Secret Expires At")
    ] = None
    secret: Annotated[str, Field(title="Secret")]
    """
    signs the per-request webhooks of POST /generations
    """


class CancelledIn(BaseModel):
    attempt: Annotated[int | None, Field(ge=0, title="Attempt")] = 0
    worker_id: Annotated[str, Field(max_length=128, min_length=1, title="Worker Id")]


class Email(RootModel[str]):
    root: Annotated[str, Field(max_length=254, pattern="^[^@\\s]+@[^@\\s]+$", title="Email")]


class CheckoutIn(BaseModel):
    email: Annotated[Email | None, Field(title="Email")] = None
    interval: Annotated[Literal["month", "year"] | None, Field(title="Interval")] = "month"
    plan: Annotated[Literal["starter", "pro", "team"], Field(title="Plan")]


class DurationMs(RootModel[int]):
    root: Annotated[int, Field(ge=0, title="Duration Ms")]


class CreditsOut(BaseModel):
    available: Annotated[int, Field(title="Available")]
    balance: Annotated[int, Field(title="Balance")]
    next_grant_at: Annotated[AwareDatetime | None, Field(title="Next Grant At")]
    next_grant_credits: Annotated[int, Field(title="Next Grant Credits")]
    plan: Annotated[str, Field(title="Plan")]
    reserved: Annotated[int, Field(title="Reserved")]


class DeleteTenantIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    confirm: Annotated[str, Field(max_length=200, min_length=1, title="Confirm")]
    """
    the team's name, typed exactly (else 422)
    """


class DeliveryDetail(BaseModel):
    attempt_count: Annotated[int, Field(title="Attempt Count")]
    attempts: Annotated[list[AttemptOut], Field(title="Attempts")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    delivered_at: Annotated[AwareDatetime | None, Field(title="Delivered At")]
    endpoint_id: Annotated[str | None, Field(title="Endpoint Id")]
    event_type: Annotated[str, Field(title="Event Type")]
    id: Annotated[str, Field(title="Id")]
    """
    the webhook-id header: the same on every retry
    """
    last_status_code: Annotated[int | None, Field(title="Last Status Code")]
    next_attempt_at: Annotated[AwareDatetime | None, Field(title="Next Attempt At")]
    payload: Annotated[dict[str, Any], Field(title="Payload")]
    """
    the body sent: type, timestamp, data
    """
    status: Annotated[Literal["pending", "delivered", "failed"], Field(title="Status")]
    """
    failed: no more retries
    """


class DeliveryOut(BaseModel):
    attempt_count: Annotated[int, Field(title="Attempt Count")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    delivered_at: Annotated[AwareDatetime | None, Field(title="Delivered At")]
    endpoint_id: Annotated[str | None, Field(title="Endpoint Id")]
    event_type: Annotated[str, Field(title="Event Type")]
    id: Annotated[str, Field(title="Id")]
    """
    the webhook-id header: the same on every retry
    """
    last_status_code: Annotated[int | None, Field(title="Last Status Code")]
    next_attempt_at: Annotated[AwareDatetime | None, Field(title="Next Attempt At")]
    payload: Annotated[dict[str, Any], Field(title="Payload")]
    """
    the body sent: type, timestamp, data
    """
    status: Annotated[Literal["pending", "delivered", "failed"], Field(title="Status")]
    """
    failed: no more retries
    """


class DeliveryPage(BaseModel):
    items: Annotated[list[DeliveryOut], Field(title="Items")]
    next_cursor: Annotated[str | None, Field(title="Next Cursor")]


class EmailVerified(BaseModel):
    access_token: Annotated[str | None, Field(title="Access Token")] = None
    email_verified: Annotated[Literal[True], Field(title="Email Verified")] = True
    expires_in: Annotated[int | None, Field(title="Expires In")] = None
    refresh_token: Annotated[str | None, Field(title="Refresh Token")] = None
    token_type: Annotated[Literal["bearer"] | None, Field(title="Token Type")] = None


class EndpointIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    description: Annotated[str | None, Field(max_length=500, title="Description")] = ""
    enabled: Annotated[bool | None, Field(title="Enabled")] = True
    event_types: Annotated[
        list[
            Literal[
                "generation.completed",
                "generation.failed",
                "generation.cancelled",
                "image.created",
                "image.deleted",
                "subscription.changed",
                "credits.exhausted",
            ]
        ],
        Field(min_length=1, title="Event Types"),
    ]
    """
    the events it wants
    """
    url: Annotated[
        str,
        Field(
            examples=["https://partner.example.com/pingvas/webhooks"],
            max_length=2048,
            min_length=8,
            pattern="^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s]+([/?][^#]*)?$",
            title="Url",
        ),
    ]
    """
    where to POST; https in production, never a private address
    """


class Description(RootModel[str]):
    root: Annotated[str, Field(max_length=500, title="Description")]


class EventTypes(
    RootModel[
        list[
            Literal[
                "generation.completed",
                "generation.failed",
                "generation.cancelled",
                "image.created",
                "image.deleted",
                "subscription.changed",
                "credits.exhausted",
            ]
        ]
    ]
):
    root: Annotated[
        list[
            Literal[
                "generation.completed",
                "generation.failed",
                "generation.cancelled",
                "image.created",
                "image.deleted",
                "subscription.changed",
                "credits.exhausted",
            ]
        ],
        Field(min_length=1, title="Event Types"),
    ]


class Url(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=2048,
            min_length=8,
            pattern="^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s]+([/?][^#]*)?$",
            title="Url",
        ),
    ]


class Url1(RootModel[None]):
    root: Annotated[None, Field(title="Url")]


class EndpointPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    description: Annotated[Description | None, Field(title="Description")] = None
    enabled: Annotated[bool | None, Field(title="Enabled")] = None
    """
    true enables a disabled endpoint again (its streak cleared)
    """
    event_types: Annotated[EventTypes | None, Field(title="Event Types")] = None
    url: Annotated[Url | Url1 | None, Field(title="Url")] = None


class EntitlementsOut(BaseModel):
    allowed_models: Annotated[list[str], Field(title="Allowed Models")]
    credits_available: Annotated[int, Field(title="Credits Available")]
    credits_reserved: Annotated[int, Field(title="Credits Reserved")]
    max_concurrent_jobs: Annotated[int, Field(title="Max Concurrent Jobs")]
    max_height: Annotated[int, Field(title="Max Height")]
    max_images_per_job: Annotated[int, Field(title="Max Images Per Job")]
    max_width: Annotated[int, Field(title="Max Width")]
    plan: Annotated[str, Field(title="Plan")]
    priority_weight: Annotated[int, Field(title="Priority Weight")]


class EventTypeOut(BaseModel):
    description: Annotated[str, Field(title="Description")]
    type: Annotated[str, Field(title="Type")]
    """
    the event type an endpoint subscribes to
    """


class FailIn(BaseModel):
    attempt: Annotated[int, Field(ge=0, title="Attempt")]
    error_code: Annotated[str, Field(max_length=32, min_length=1, title="Error Code")]
    reason: Annotated[str | None, Field(max_length=2000, title="Reason")] = ""
    retryable: Annotated[bool | None, Field(title="Retryable")] = False
    worker_id: Annotated[str, Field(max_length=128, min_length=1, title="Worker Id")]


class CfgScale(RootModel[float]):
    root: Annotated[float, Field(ge=1.0, le=30.0, title="Cfg Scale")]


class Height(RootModel[int]):
    root: Annotated[int, Field(ge=64, le=4096, multiple_of=8, title="Height")]


class Seed(RootModel[int]):
    root: Annotated[int, Field(ge=0, le=4294967295, title="Seed")]


class Steps(RootModel[int]):
    root: Annotated[int, Field(ge=1, le=150, title="Steps")]


class Webhook(RootModel[str]):
    root: Annotated[
        str,
        Field(
            examples=["https://partner.example.com/pingvas/callback"],
            max_length=2048,
            min_length=8,
            title="Webhook",
        ),
    ]
    """
    a per-request webhook: this job's lifecycle is POSTed there, signed with the team's callback secret (GET /api/v1/webhooks/callback-secret); https in production, never a private address
    """


class WebhookEventsFilter(RootModel[list[Literal["started", "progress", "completed"]]]):
    root: Annotated[
        list[Literal["started", "progress", "completed"]],
        Field(min_length=1, title="Webhook Events Filter"),
    ]
    """
    what the webhook gets (default all three); completed also covers failed and cancelled
    """


class Width(RootModel[int]):
    root: Annotated[int, Field(ge=64, le=4096, multiple_of=8, title="Width")]


class GenerationIn(BaseModel):
    """
    What to generate; omitted sizes, steps, cfg and scheduler take the model's defaults.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    cfg_scale: Annotated[CfgScale | None, Field(title="Cfg Scale")] = None
    height: Annotated[Height | None, Field(title="Height")] = None
    model: Annotated[str, Field(max_length=128, min_length=1, title="Model")]
    negative_prompt: Annotated[str | None, Field(max_length=2000, title="Negative Prompt")] = ""
    num_images: Annotated[int | None, Field(ge=1, le=16, title="Num Images")] = 1
    prompt: Annotated[str, Field(max_length=2000, min_length=1, title="Prompt")]
    scheduler: Annotated[
        Literal[
            "ddim",
            "ddpm",
            "deis",
            "deis_k",
            "lms",
            "lms_k",
            "pndm",
            "heun",
            "heun_k",
            "euler",
            "euler_k",
            "euler_a",
            "kdpm_2",
            "kdpm_2_k",
            "kdpm_2_a",
            "kdpm_2_a_k",
            "dpmpp_2s",
            "dpmpp_2s_k",
            "dpmpp_sde",
            "dpmpp_sde_k",
            "dpmpp_2m",
            "dpmpp_2m_k",
            "dpmpp_2m_sde",
            "dpmpp_2m_sde_k",
            "dpmpp_3m",
            "dpmpp_3m_k",
            "unipc",
            "unipc_k",
            "lcm",
            "tcd",
        ]
        | None,
        Field(title="Scheduler"),
    ] = None
    seed: Annotated[Seed | None, Field(title="Seed")] = None
    steps: Annotated[Steps | None, Field(title="Steps")] = None
    webhook: Annotated[
        Webhook | None,
        Field(examples=["https://partner.example.com/pingvas/callback"], title="Webhook"),
    ] = None
    """
    a per-request webhook: this job's lifecycle is POSTed there, signed with the team's callback secret (GET /api/v1/webhooks/callback-secret); https in production, never a private address
    """
    webhook_events_filter: Annotated[
        WebhookEventsFilter | None, Field(title="Webhook Events Filter")
    ] = None
    """
    what the webhook gets (default all three); completed also covers failed and cancelled
    """
    width: Annotated[Width | None, Field(title="Width")] = None


class Health(BaseModel):
    consecutive_failures: Annotated[int, Field(title="Consecutive Failures")]
    deliveries_24h: Annotated[int, Field(title="Deliveries 24H")]
    last_attempt_at: Annotated[AwareDatetime | None, Field(title="Last Attempt At")]
    last_success_at: Annotated[AwareDatetime | None, Field(title="Last Success At")]
    status: Annotated[Literal["new", "healthy", "failing", "disabled"], Field(title="Status")]
    success_rate_24h: Annotated[float | None, Field(title="Success Rate 24H")]
    """
    share of the last 24 hours' attempts answered 2xx; null without attempts
    """


class HeartbeatIn(BaseModel):
    capacity: Annotated[int | None, Field(ge=0, le=1024, title="Capacity")] = 0
    job_ids: Annotated[list[str] | None, Field(max_length=1024, title="Job Ids")] = None
    worker_id: Annotated[str, Field(max_length=128, min_length=1, title="Worker Id")]


class ImageDone(BaseModel):
    image_id: Annotated[str, Field(max_length=64, min_length=1, title="Image Id")]
    index: Annotated[int, Field(ge=0, title="Index")]
    png_key: Annotated[str, Field(max_length=1024, min_length=1, title="Png Key")]
    seed: Annotated[int, Field(ge=0, le=4294967295, title="Seed")]
    sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$", title="Sha256")]
    size_bytes: Annotated[int, Field(ge=1, title="Size Bytes")]
    thumbnail_key: Annotated[str, Field(max_length=1024, min_length=1, title="Thumbnail Key")]


class ImageOut(BaseModel):
    cfg_scale: Annotated[float, Field(title="Cfg Scale")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    download_name: Annotated[str, Field(title="Download Name")]
    """
    a readable file name: `pingvas-<day>-<prompt words>.png`
    """
    download_url: Annotated[str, Field(title="Download Url")]
    """
    presigned like `url`, but S3 answers it as an attachment named `download_name`: following it saves the file instead of showing it
    """
    height: Annotated[int, Field(title="Height")]
    id: Annotated[str, Field(title="Id")]
    index: Annotated[int, Field(title="Index")]
    job_id: Annotated[str, Field(title="Job Id")]
    model: Annotated[str, Field(title="Model")]
    negative_prompt: Annotated[str, Field(title="Negative Prompt")]
    prompt: Annotated[str, Field(title="Prompt")]
    scheduler: Annotated[str, Field(title="Scheduler")]
    seed: Annotated[int, Field(title="Seed")]
    size_bytes: Annotated[int, Field(title="Size Bytes")]
    steps: Annotated[int, Field(title="Steps")]
    thumbnail_url: Annotated[str, Field(title="Thumbnail Url")]
    url: Annotated[str, Field(title="Url")]
    user_id: Annotated[str | None, Field(title="User Id")] = None
    """
    the person whose generation made it; null for an API key's
    """
    width: Annotated[int, Field(title="Width")]


class ImagePage(BaseModel):
    items: Annotated[list[ImageOut], Field(title="Items")]
    next_cursor: Annotated[str | None, Field(title="Next Cursor")]


class InvitationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    email: Annotated[str, Field(max_length=254, title="Email")]
    role: Annotated[Literal["owner", "admin", "member"] | None, Field(title="Role")] = "member"


class InvitationOut(BaseModel):
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    email: Annotated[str, Field(title="Email")]
    expired: Annotated[bool, Field(title="Expired")]
    expires_at: Annotated[AwareDatetime, Field(title="Expires At")]
    id: Annotated[str, Field(title="Id")]
    role: Annotated[str, Field(title="Role")]


class InvitationPreview(BaseModel):
    accepted: Annotated[bool, Field(title="Accepted")]
    email: Annotated[str, Field(title="Email")]
    expired: Annotated[bool, Field(title="Expired")]
    role: Annotated[str, Field(title="Role")]
    tenant_name: Annotated[str, Field(title="Tenant Name")]


class JobError(BaseModel):
    code: Annotated[str, Field(title="Code")]
    reason: Annotated[str, Field(title="Reason")]


class JobOut(BaseModel):
    attempts: Annotated[int, Field(title="Attempts")]
    cancel_requested: Annotated[bool, Field(title="Cancel Requested")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    credits_reserved: Annotated[int, Field(title="Credits Reserved")]
    credits_used: Annotated[int | None, Field(title="Credits Used")]
    error: JobError | None
    finished_at: Annotated[AwareDatetime | None, Field(title="Finished At")]
    id: Annotated[str, Field(title="Id")]
    image_ids: Annotated[list[str], Field(title="Image Ids")]
    progress: Annotated[float, Field(title="Progress")]
    queue_position: Annotated[int | None, Field(title="Queue Position")]
    request: Annotated[dict[str, Any], Field(title="Request")]
    seed: Annotated[int, Field(title="Seed")]
    started_at: Annotated[AwareDatetime | None, Field(title="Started At")]
    status: Annotated[
        Literal["queued", "running", "completed", "failed", "cancelled"],
        Field(title="Status"),
    ]
    webhook: Annotated[str | None, Field(title="Webhook")] = None
    webhook_events_filter: Annotated[list[str] | None, Field(title="Webhook Events Filter")] = None


class JobPage(BaseModel):
    items: Annotated[list[JobOut], Field(title="Items")]
    next_cursor: Annotated[str | None, Field(title="Next Cursor")]


class TenantId(RootModel[str]):
    root: Annotated[str, Field(max_length=64, title="Tenant Id")]


class LoginIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    email: Annotated[str, Field(max_length=254, title="Email")]
    password: Annotated[str, Field(max_length=1024, min_length=1, title="Password")]
    tenant_id: Annotated[TenantId | None, Field(title="Tenant Id")] = None


class RefreshToken(RootModel[str]):
    root: Annotated[str, Field(max_length=512, min_length=1, title="Refresh Token")]


class LogoutIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    refresh_token: Annotated[RefreshToken | None, Field(title="Refresh Token")] = None


class MemberOut(BaseModel):
    email: Annotated[str, Field(title="Email")]
    email_verified: Annotated[bool, Field(title="Email Verified")]
    joined_at: Annotated[AwareDatetime, Field(title="Joined At")]
    name: Annotated[str, Field(title="Name")]
    role: Annotated[str, Field(title="Role")]
    user_id: Annotated[str, Field(title="User Id")]


class MembershipOut(BaseModel):
    role: Annotated[str, Field(title="Role")]
    tenant_id: Annotated[str, Field(title="Tenant Id")]
    tenant_name: Annotated[str, Field(title="Tenant Name")]


class ModelOut(BaseModel):
    base: Annotated[str, Field(title="Base")]
    credit_factor: Annotated[float, Field(title="Credit Factor")]
    default_cfg_scale: Annotated[float, Field(title="Default Cfg Scale")]
    default_height: Annotated[int, Field(title="Default Height")]
    default_scheduler: Annotated[str, Field(title="Default Scheduler")]
    default_steps: Annotated[int, Field(title="Default Steps")]
    default_width: Annotated[int, Field(title="Default Width")]
    key: Annotated[str, Field(title="Key")]
    max_height: Annotated[int, Field(title="Max Height")]
    max_steps: Annotated[int, Field(title="Max Steps")]
    max_width: Annotated[int, Field(title="Max Width")]
    name: Annotated[str, Field(title="Name")]
    test: Annotated[bool, Field(title="Test")]


class NewApiKeyOut(BaseModel):
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    id: Annotated[str, Field(title="Id")]
    key: Annotated[str, Field(title="Key")]
    """
    the whole key; shown this once, never again
    """
    last_used_at: Annotated[AwareDatetime | None, Field(title="Last Used At")]
    name: Annotated[str, Field(title="Name")]
    prefix: Annotated[str, Field(title="Prefix")]
    revoked_at: Annotated[AwareDatetime | None, Field(title="Revoked At")]
    scopes: Annotated[list[str], Field(title="Scopes")]


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    current_password: Annotated[str, Field(max_length=1024, min_length=1, title="Current Password")]
    new_password: Annotated[str, Field(max_length=128, min_length=10, title="New Password")]
    """
    10 to 128 characters, not a common password, not containing your name or email address (GET /api/v1/auth/password-policy)
    """


class PasswordPolicyOut(BaseModel):
    """
    The one password rule, for the SPA's hint and its own check before sending.
    """

    max_length: Annotated[int, Field(title="Max Length")]
    """
    most characters
    """
    min_length: Annotated[int, Field(title="Min Length")]
    """
    fewest characters
    """
    refuses_common: Annotated[bool, Field(title="Refuses Common")]
    """
    common passwords (a bundled list) are refused, also with digits or symbols around them: 422 `password-too-weak`
    """
    refuses_personal: Annotated[bool, Field(title="Refuses Personal")]
    """
    a password containing the person's name or email local part is refused: 422 `password-contains-personal`
    """


class PasswordResetConfirmIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    password: Annotated[str, Field(max_length=128, min_length=10, title="Password")]
    """
    10 to 128 characters, not a common password, not containing your name or email address (GET /api/v1/auth/password-policy)
    """
    revoke_api_keys: Annotated[bool | None, Field(title="Revoke Api Keys")] = False
    token: Annotated[str, Field(max_length=512, min_length=1, title="Token")]


class PasswordResetIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    email: Annotated[str, Field(max_length=254, title="Email")]


class PaymentOut(BaseModel):
    amount_minor: Annotated[int, Field(title="Amount Minor")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    currency: Annotated[str, Field(title="Currency")]
    id: Annotated[str, Field(title="Id")]
    kind: Annotated[str, Field(title="Kind")]
    plan: Annotated[str | None, Field(title="Plan")]
    receipt_url: Annotated[str | None, Field(title="Receipt Url")]
    reference: Annotated[str, Field(title="Reference")]
    status: Annotated[str, Field(title="Status")]
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]


class Preferences(BaseModel):
    job_completed: Annotated[bool, Field(title="Job Completed")]
    newsletter: Annotated[bool, Field(title="Newsletter")]
    usage_notices: Annotated[bool, Field(title="Usage Notices")]


class PreferencesIn(BaseModel):
    """
    The same shape; keys left out keep their value, unknown keys are refused (422).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    job_completed: Annotated[bool | None, Field(title="Job Completed")] = None
    newsletter: Annotated[bool | None, Field(title="Newsletter")] = None
    usage_notices: Annotated[bool | None, Field(title="Usage Notices")] = None


class Price(BaseModel):
    amount_minor: Annotated[int, Field(title="Amount Minor")]
    currency: Annotated[str, Field(title="Currency")]
    variant_id: Annotated[str, Field(title="Variant Id")]


class ProblemField(BaseModel):
    code: Annotated[str, Field(examples=["too-short"])]
    """
    What is wrong, stable: missing, too-short, too-long, too-few-items, too-many-items, not-a-number, too-small, too-large, pattern-mismatch, not-one-of, not-an-email, invalid, ...
    """
    field: str
    """
    Where: query.limit, name, ...
    """
    message: str
    """
    What is wrong, in English, for logs and developers; show people a text looked up by `code`.
    """
    params: Annotated[dict[str, str | float] | None, Field(examples=[{"min_length": 8}])] = None
    """
    What was allowed, for the text: min_length, max_length, min, max, above, below, expected, pattern, ...
    """


class Preview(RootModel[str]):
    root: Annotated[str, Field(max_length=262144, title="Preview")]


class ProgressIn(BaseModel):
    attempt: Annotated[int, Field(ge=0, title="Attempt")]
    image_index: Annotated[int | None, Field(ge=0, title="Image Index")] = 0
    preview: Annotated[Preview | None, Field(title="Preview")] = None
    progress: Annotated[float, Field(ge=0.0, le=1.0, title="Progress")]


class RefreshIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    refresh_token: Annotated[str, Field(max_length=512, min_length=1, title="Refresh Token")]


class RoleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    role: Annotated[Literal["owner", "admin", "member"], Field(title="Role")]


class SegmentOut(BaseModel):
    match: Annotated[bool, Field(title="Match")]
    text: Annotated[str, Field(title="Text")]


class SessionState(BaseModel):
    """
    What the gateway compares an access token with (api/revocation.py).
    """

    member_since: Annotated[int | None, Field(title="Member Since")]
    tenant_id: Annotated[str | None, Field(title="Tenant Id")]
    token_version: Annotated[int, Field(title="Token Version")]
    user_exists: Annotated[bool, Field(title="User Exists")]


class TenantId1(RootModel[str]):
    root: Annotated[str, Field(max_length=64, min_length=1, title="Tenant Id")]


class SessionStateIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    tenant_id: Annotated[TenantId1 | None, Field(title="Tenant Id")] = None
    user_id: Annotated[str, Field(max_length=64, min_length=1, title="User Id")]


class SignupAccepted(BaseModel):
    """
    The one answer sign-up gives, whether or not the address already has an account.
    """

    detail: Annotated[str, Field(title="Detail")]
    status: Annotated[Literal["verification_sent"], Field(title="Status")] = "verification_sent"


class SignupIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    email: Annotated[str, Field(max_length=254, title="Email")]
    locale: Annotated[Literal["ko", "en"] | None, Field(title="Locale")] = "en"
    name: Annotated[
        str,
        Field(
            max_length=100,
            min_length=1,
            pattern="^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u001f\\u007f-\\u009f\\s\\u00ad\\u034f\\u061c\\u115f\\u1160\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\u2800\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0][^\\u0000-\\u001f\\u007f-\\u009f]*$",
            title="Name",
        ),
    ]
    """
    A person's or a team's name: something visible, no control characters (422 name-blank, name-control-characters)
    """
    password: Annotated[str, Field(max_length=128, min_length=10, title="Password")]
    """
    10 to 128 characters, not a common password, not containing your name or email address (GET /api/v1/auth/password-policy)
    """
    team_name: Annotated[
        str,
        Field(
            max_length=100,
            min_length=1,
            pattern="^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u001f\\u007f-\\u009f\\s\\u00ad\\u034f\\u061c\\u115f\\u1160\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\u2800\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0][^\\u0000-\\u001f\\u007f-\\u009f]*$",
            title="Team Name",
        ),
    ]
    """
    A person's or a team's name: something visible, no control characters (422 name-blank, name-control-characters)
    """


class StartIn(BaseModel):
    receive_count: Annotated[int | None, Field(ge=0, title="Receive Count")] = 1
    worker_id: Annotated[str, Field(max_length=128, min_length=1, title="Worker Id")]


class SubscriptionOut(BaseModel):
    current_period_end: Annotated[AwareDatetime | None, Field(title="Current Period End")]
    current_period_start: Annotated[AwareDatetime | None, Field(title="Current Period Start")]
    ends_at: Annotated[AwareDatetime | None, Field(title="Ends At")]
    entitlements: Annotated[dict[str, Any], Field(title="Entitlements")]
    entitlements_reduced: Annotated[bool, Field(title="Entitlements Reduced")]
    guidance: Annotated[str | None, Field(title="Guidance")]
    interval: Annotated[str | None, Field(title="Interval")]
    past_due_since: Annotated[AwareDatetime | None, Field(title="Past Due Since")]
    plan: Annotated[str, Field(title="Plan")]
    plan_name: Annotated[str, Field(title="Plan Name")]
    status: Annotated[str, Field(title="Status")]
    subscription_id: Annotated[str | None, Field(title="Subscription Id")]
    trial_ends_at: Annotated[AwareDatetime | None, Field(title="Trial Ends At")]
    update_payment_method_url: Annotated[str | None, Field(title="Update Payment Method Url")]


class SuggestionOut(BaseModel):
    highlight: Annotated[list[SegmentOut], Field(title="Highlight")]
    images: Annotated[int, Field(title="Images")]
    prompt: Annotated[str, Field(title="Prompt")]


class Suggestions(BaseModel):
    items: Annotated[list[SuggestionOut], Field(title="Items")]


class SwitchTenantIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    tenant_id: Annotated[str, Field(max_length=64, min_length=1, title="Tenant Id")]


class TeamSettings(BaseModel):
    member_image_deletion: Annotated[Literal["own", "any"], Field(title="Member Image Deletion")]
    """
    `own`: a member deletes only the images they made (admins and owners any); `any`: every member may delete any image of the team
    """


class TeamSettingsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    member_image_deletion: Annotated[Literal["own", "any"], Field(title="Member Image Deletion")]
    """
    `own` (the default) or `any`, as in the answer
    """


class TenantOut(BaseModel):
    created_at: Annotated[AwareDatetime | None, Field(title="Created At")]
    deleted_at: Annotated[AwareDatetime | None, Field(title="Deleted At")]
    name: Annotated[str | None, Field(title="Name")]
    owner_email: Annotated[str | None, Field(title="Owner Email")]
    plan: Annotated[str, Field(title="Plan")]
    slug: Annotated[str | None, Field(title="Slug")]
    status: Annotated[str, Field(title="Status")]
    subscription_status: Annotated[str | None, Field(title="Subscription Status")]
    tenant_id: Annotated[str, Field(title="Tenant Id")]


class TenantPage(BaseModel):
    items: Annotated[list[TenantOut], Field(title="Items")]
    next_cursor: Annotated[str | None, Field(title="Next Cursor")]


class UnsubscribeOut(BaseModel):
    email: Annotated[str | None, Field(title="Email")]
    preference: Annotated[str, Field(title="Preference")]
    subscribed: Annotated[bool, Field(title="Subscribed")]


class UrlOut(BaseModel):
    url: Annotated[str, Field(title="Url")]


class UserOut(BaseModel):
    email: Annotated[str, Field(title="Email")]
    email_verified: Annotated[bool, Field(title="Email Verified")]
    id: Annotated[str, Field(title="Id")]
    locale: Annotated[str, Field(title="Locale")]
    name: Annotated[str, Field(title="Name")]


class VerificationRequestIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    email: Annotated[str, Field(max_length=254, title="Email")]


class VerifiedApiKey(BaseModel):
    api_key_id: Annotated[str, Field(title="Api Key Id")]
    email_verified: Annotated[bool, Field(title="Email Verified")]
    name: Annotated[str, Field(title="Name")]
    scopes: Annotated[list[str], Field(title="Scopes")]
    tenant_id: Annotated[str, Field(title="Tenant Id")]


class VerifyApiKeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    key: Annotated[str, Field(max_length=256, min_length=1, title="Key")]


class VerifyEmailIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    refresh_token: Annotated[RefreshToken | None, Field(title="Refresh Token")] = None
    token: Annotated[str, Field(max_length=512, min_length=1, title="Token")]


class TenantsPreferencesIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    locale: Annotated[Literal["ko", "en"], Field(title="Locale")]


class TenantsTenantOut(BaseModel):
    id: Annotated[str, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]
    slug: Annotated[str, Field(title="Slug")]


class CompleteIn(BaseModel):
    attempt: Annotated[int, Field(ge=0, title="Attempt")]
    duration_ms: Annotated[DurationMs | None, Field(title="Duration Ms")] = None
    images: Annotated[list[ImageDone], Field(max_length=16, title="Images")]
    worker_id: Annotated[str, Field(max_length=128, min_length=1, title="Worker Id")]


class EndpointOut(BaseModel):
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    description: Annotated[str, Field(title="Description")]
    disabled_reason: Annotated[
        Literal["gone", "failing", "manual"] | None, Field(title="Disabled Reason")
    ]
    """
    gone: it answered 410; failing: every delivery failed for 5 days
    """
    enabled: Annotated[bool, Field(title="Enabled")]
    event_types: Annotated[list[str], Field(title="Event Types")]
    health: Health
    id: Annotated[str, Field(title="Id")]
    previous_secret_expires_at: Annotated[
        AwareDatetime | None, Field(title="Previous Secret Expires At")
    ]
    """
    after a rotation: until then the old secret signs too
    """
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]
    url: Annotated[str, Field(title="Url")]


class EndpointWithSecret(BaseModel):
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    description: Annotated[str, Field(title="Description")]
    disabled_reason: Annotated[
        Literal["gone", "failing", "manual"] | None, Field(title="Disabled Reason")
    ]
    """
    gone: it answered 410; failing: every delivery failed for 5 days
    """
    enabled: Annotated[bool, Field(title="Enabled")]
    event_types: Annotated[list[str], Field(title="Event Types")]
    health: Health
    id: Annotated[str, Field(title="Id")]
    previous_secret_expires_at: Annotated[
        AwareDatetime | None, Field(title="Previous Secret Expires At")
    ]
    """
    after a rotation: until then the old secret signs too
    """
    secret: Annotated[
        str, Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], title="Secret")
    ]
    """
    the signing secret (whsec_...): shown only in this answer
    """
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]
    url: Annotated[str, Field(title="Url")]


class EventTypeList(BaseModel):
    items: Annotated[list[EventTypeOut], Field(title="Items")]


class ImageResult(BaseModel):
    """
    Render's image fields (the gallery shows either), plus why it matched.
    """

    cfg_scale: Annotated[float, Field(title="Cfg Scale")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    height: Annotated[int, Field(title="Height")]
    highlight: Annotated[list[SegmentOut], Field(title="Highlight")]
    id: Annotated[str, Field(title="Id")]
    index: Annotated[int, Field(title="Index")]
    job_id: Annotated[str, Field(title="Job Id")]
    model: Annotated[str, Field(title="Model")]
    negative_prompt: Annotated[str, Field(title="Negative Prompt")]
    prompt: Annotated[str, Field(title="Prompt")]
    scheduler: Annotated[str, Field(title="Scheduler")]
    score: Annotated[float | None, Field(title="Score")]
    seed: Annotated[int, Field(title="Seed")]
    size_bytes: Annotated[int, Field(title="Size Bytes")]
    steps: Annotated[int, Field(title="Steps")]
    thumbnail_url: Annotated[str, Field(title="Thumbnail Url")]
    url: Annotated[str, Field(title="Url")]
    width: Annotated[int, Field(title="Width")]


class ImageResults(BaseModel):
    engine: Annotated[str, Field(title="Engine")]
    items: Annotated[list[ImageResult], Field(title="Items")]
    next_cursor: Annotated[str | None, Field(title="Next Cursor")]
    took_ms: Annotated[int, Field(title="Took Ms")]
    total: Annotated[int, Field(title="Total")]


class MeOut(BaseModel):
    memberships: Annotated[list[MembershipOut], Field(title="Memberships")]
    platform_roles: Annotated[list[str], Field(title="Platform Roles")]
    role: Annotated[str | None, Field(title="Role")]
    tenant: TenantsTenantOut | None
    user: UserOut


class ModelList(BaseModel):
    items: Annotated[list[ModelOut], Field(title="Items")]


class PaymentList(BaseModel):
    items: Annotated[list[PaymentOut], Field(title="Items")]


class PlanOut(BaseModel):
    code: Annotated[str, Field(title="Code")]
    limits: Annotated[dict[str, Any], Field(title="Limits")]
    monthly_credits: Annotated[int, Field(title="Monthly Credits")]
    name: Annotated[str, Field(title="Name")]
    prices: Annotated[dict[str, Price], Field(title="Prices")]
    rollover: Annotated[bool, Field(title="Rollover")]


class Problem(BaseModel):
    """
    An error, as RFC 9457 problem details (application/problem+json). Besides these members a problem may carry others that its `type` documents.
    """

    model_config = ConfigDict(
        extra="allow",
    )
    code: Annotated[str, Field(examples=["not-found"])]
    """
    A stable code to act on and to look a text up by: not-found, unauthorized, forbidden, conflict, rate-limited, validation-failed, out-of-credits, the gateway's session_revoked, csrf_failed, login_delayed, ...; the last part of `type` too.
    """
    detail: str | None = None
    """
    What happened this time.
    """
    errors: list[ProblemField] | None = None
    """
    For 422: each field that is not valid.
    """
    status: int
    """
    The HTTP status code.
    """
    title: str
    """
    A short summary of the kind.
    """
    type: Annotated[AnyUrl, Field(examples=["https://pingvas.dev/problems/not-found"])]
    """
    What kind of problem: https://pingvas.dev/problems/<kind>, stable.
    """


class TokenPair(BaseModel):
    access_token: Annotated[str, Field(title="Access Token")]
    expires_in: Annotated[int, Field(title="Expires In")]
    refresh_token: Annotated[str, Field(title="Refresh Token")]
    role: Annotated[str | None, Field(title="Role")]
    tenant: TenantsTenantOut | None
    token_type: Annotated[Literal["bearer"], Field(title="Token Type")] = "bearer"
    user: UserOut


class EndpointList(BaseModel):
    items: Annotated[list[EndpointOut], Field(title="Items")]


class PlanList(BaseModel):
    items: Annotated[list[PlanOut], Field(title="Items")]

"""The mail service's settings: environment variables prefixed MAIL_ (e.g. MAIL_PORT).
What each means: docs/mail.md, "Settings"."""

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MAIL_", extra="ignore")
    service_name: ClassVar[str] = "mail"
    optional_secret_settings: ClassVar[tuple[str, ...]] = ("unsubscribe_secret",)

    port: int = 8104
    #: where links in mails point (the gateway's public URL)
    public_url: str = "http://127.0.0.1:8080"
    from_address: str = "Pingvas <no-reply@pingvas.local>"
    #: SES configuration set (its event destination sends bounces and complaints to SNS)
    configuration_set: str = "pingvas-mail"
    #: SNS topic + SQS queue for SES notifications: <bus_prefix>-<name>
    ses_events_name: str = "mail-ses-events"
    #: create the SES identity, configuration set, topic and queue at start-up (local, tests)
    create_resources: bool = True
    #: signs one-click unsubscribe links; by default derived from the internal secret
    unsubscribe_secret: SecretStr | None = None
    #: GET /dev/mail and /dev/mail/messages: the local run's inbox (never in production)
    dev_inbox: bool = False
    #: the sender's poll, the SES send rate, retries on throttling
    send_interval_s: float = 0.2
    max_send_rate_per_s: float = 14.0
    max_attempts: int = 8
    #: a message claimed this long ago and never recorded as sent is `unknown`, not resent
    sending_lease_s: float = 120.0

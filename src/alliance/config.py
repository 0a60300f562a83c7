"""Settings from the environment (prefix ``ALLIANCE_``), built once per app or command."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alliance.languages import parse_list

DEFAULT_DATABASE = "sqlite:///alliance.sqlite3"


class Settings(BaseSettings):
    """Configuration of the clinic service. Every field can be set as ``ALLIANCE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ALLIANCE_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE,
        description="SQLAlchemy URL: a SQLite file (default) or postgresql+psycopg://…",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public address of the service, used in links sent to clients.",
    )
    instruments_dir: Path | None = Field(
        default=None, description="A folder of the site's own instrument definitions."
    )
    wording_dir: Path | None = Field(
        default=None, description="A folder of licensed wording packs."
    )
    session_hours: float = Field(default=12, gt=0, description="Login session lifetime.")
    link_hours: float = Field(default=72, gt=0, description="Default lifetime of a client link.")
    languages: str = Field(
        default="en",
        description="The languages offered for clients' forms: BCP 47 tags separated by "
        "commas (en,nl,pt-BR); languages of loaded wording packs are added.",
    )
    login_attempts: int = Field(
        default=5, ge=1, description="Failed logins allowed per account (and per address) ..."
    )
    login_window_minutes: float = Field(default=15, gt=0, description="… within this window.")
    smtp_host: str | None = Field(default=None, description="Mail server for client links.")
    smtp_port: int = Field(default=25, description="Mail server port.")
    smtp_user: str | None = Field(default=None, description="Mail server login, if any.")
    smtp_password: str | None = Field(default=None, description="Mail server password.")
    smtp_password_file: Path | None = Field(
        default=None,
        description="A file whose first line is the mail server's password (instead of "
        "SMTP_PASSWORD, so that the password is not in the environment).",
    )
    smtp_starttls: bool = Field(
        default=False, description="Upgrade to TLS with STARTTLS (usually port 587)."
    )
    smtp_tls: bool = Field(
        default=False,
        description="Implicit TLS: TLS from the first byte (usually port 465); not with "
        "SMTP_STARTTLS.",
    )
    mail_from: str = Field(default="alliance@localhost", description="Sender of client mails.")
    reminder_hours: float = Field(
        default=48, gt=0, description="Remind a client once when a link is unused this long."
    )
    analysis_delay: float = Field(
        default=5.0,
        ge=0,
        description="Seconds between a client's new answers and the analysis that raises "
        "alerts (one analysis per burst); 0 analyses right after each response.",
    )
    analysis_catch_up_minutes: float = Field(
        default=60,
        ge=0,
        description="A worker that starts analyses again the clients whose ratings changed "
        "this long ago or less, in case a worker that stopped abruptly could not; 0 turns "
        "it off.",
    )
    alert_check_seconds: float = Field(
        default=30,
        ge=0,
        description="How often a served worker sends risk-alert messages still owed (retries, "
        "alerts raised by command-line imports) and escalates unacknowledged urgent alerts; 0 "
        "turns the worker's timer off (then run `alliance alerts dispatch` from cron).",
    )
    secure_cookies: bool | None = Field(
        default=None, description="Mark cookies Secure; default: when base_url is https."
    )
    max_upload_mb: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="The largest file an import accepts, in megabytes (streamed to disk; "
        "a larger request is answered 413 at once). JSON bodies and forms are limited to "
        "1 MB, logins to 16 kB.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Addresses or networks (comma-separated, e.g. '127.0.0.1' or "
        "'10.0.0.0/24') of the reverse proxies in front of the service: only a request that "
        "comes from one of them may name its client's address (X-Forwarded-For) and scheme "
        "(X-Forwarded-Proto). Empty (default): no header is believed, and the per-address "
        "limits on logins and links use the address that connected.",
    )

    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="The least severe log records written."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text or as one JSON object per line."
    )
    access_log: bool = Field(
        default=True,
        description="One log line per request: method, route template, status, time (no "
        "address, path values or query).",
    )
    metrics_token_file: Path | None = Field(
        default=None,
        description="A file holding the bearer token Prometheus sends to /metrics; unset, "
        "/metrics answers 404.",
    )

    @model_validator(mode="after")
    def _mail_secrets(self) -> Settings:
        if self.smtp_starttls and self.smtp_tls:
            raise ValueError(
                "smtp_starttls and smtp_tls are two ways of starting TLS; set one: smtp_tls "
                "for implicit TLS (port 465), smtp_starttls for STARTTLS (port 587)"
            )
        if self.smtp_password_file is not None:
            if self.smtp_password is not None:
                raise ValueError("set smtp_password or smtp_password_file, not both")
            try:
                lines = self.smtp_password_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ValueError(f"smtp_password_file: cannot read it ({exc.strerror})") from None
            self.smtp_password = lines[0] if lines else ""
        return self

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: str) -> str:
        return ",".join(parse_list(value))

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for entry in (e.strip() for e in value.split(",")):
            if not entry:
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network; allowed: addresses such as "
                    "127.0.0.1 or ::1 and networks such as 10.0.0.0/24, comma-separated"
                ) from None
        return value

    @property
    def proxies(self) -> list[str]:
        """The trusted proxies as a list (empty: none)."""
        return [e.strip() for e in self.trusted_proxies.split(",") if e.strip()]

    @property
    def base_url_given(self) -> bool:
        """Whether the site named its public address (ALLIANCE_BASE_URL or an argument): FHIR
        canonical URLs, identifier systems and resource addresses are made from it."""
        return "base_url" in self.model_fields_set

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.base_url.startswith("https://")

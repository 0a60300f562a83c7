"""``alliance alerts dispatch``: send the risk-alert messages still owed and escalate urgent
alerts left unacknowledged — from cron, e.g. every minute (``* * * * *``), beside or instead of
the served workers' own timer (``ALLIANCE_ALERT_CHECK_SECONDS``)."""

from __future__ import annotations

import typer

from alliance.cli.clinic import DatabaseOption, _settings, database_session
from alliance.cli.common import out

app = typer.Typer(
    add_completion=False, help="Risk alerts sent out of the app.", no_args_is_help=True
)


@app.command("dispatch")
def dispatch_command(database: DatabaseOption = None) -> None:
    """Send the risk-alert messages that are due and escalate unacknowledged urgent alerts.

    Retries failed messages; e-mails wait while no mail server is configured. Safe to run
    while the service runs: each message is sent once.
    """
    from alliance.services.mail import SmtpMailer  # noqa: PLC0415
    from alliance.services.monitoring.dispatch import Outbound, dispatch  # noqa: PLC0415
    from alliance.services.webhooks import HttpWebhookSender  # noqa: PLC0415

    settings = _settings(database)
    mailer = SmtpMailer.from_settings(settings)
    outbound = Outbound(mailer, HttpWebhookSender(), settings.base_url)
    with database_session(database) as db:
        done = dispatch(db, outbound)
    out.print(
        f"Sent {done.sent}, failed {done.failed} (to be tried again), given up {done.given_up}; "
        f"escalated {done.escalated}."
        + ("" if mailer else " No mail server is configured: e-mails are waiting.")
    )

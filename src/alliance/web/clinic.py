"""What every request shares: settings, the database, the instrument registry and wording."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alliance.config import Settings
from alliance.instruments.registry import Registry, default_registry
from alliance.instruments.wording import WordingPack, load_pack_directory
from alliance.languages import offered
from alliance.services import audit
from alliance.services.mail import Mailer, SmtpMailer
from alliance.services.monitoring.analysis import changed_since, refresh_alerts
from alliance.services.monitoring.dispatch import Outbound, dispatch
from alliance.services.webhooks import HttpWebhookSender, WebhookSender
from alliance.store import migrate
from alliance.store.base import utcnow
from alliance.store.engine import make_engine, session_factory

logger = logging.getLogger("alliance.web")


@dataclass(eq=False)
class Clinic:
    """Built once per process by :func:`alliance.web.app.create_app`; holds no per-user state."""

    settings: Settings
    engine: Engine

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> Clinic:
        return cls(settings, engine or make_engine(settings.database_url))

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        factory = session_factory(self.engine)
        audit.install(factory)
        return factory

    @cached_property
    def registry(self) -> Registry:
        return default_registry(self.settings.instruments_dir)

    @cached_property
    def wording_packs(self) -> list[WordingPack]:
        if self.settings.wording_dir is None:
            return []
        return load_pack_directory(self.settings.wording_dir, self.registry)

    @cached_property
    def languages(self) -> tuple[str, ...]:
        """The languages offered for clients' forms (:mod:`alliance.languages`)."""
        return offered(self.settings.languages.split(","), (p.language for p in self.wording_packs))

    @cached_property
    def mailer(self) -> Mailer | None:
        """The mail server's sender, or None when no mail server is configured."""
        return SmtpMailer.from_settings(self.settings)

    @cached_property
    def schema_differences(self) -> list[str]:
        """How the database's tables differ from the models, checked once per worker (the
        health probe fails while there are any)."""
        return migrate.schema_differences(self.engine)

    @cached_property
    def webhooks(self) -> WebhookSender:
        return HttpWebhookSender()

    def outbound(self) -> Outbound:
        """How risk alerts leave the app: mail (when a server is set), webhooks, links."""
        return Outbound(self.mailer, self.webhooks, self.settings.base_url)

    @cached_property
    def alert_ticker(self) -> AlertTicker:
        return AlertTicker(self, self.settings.alert_check_seconds)

    @cached_property
    def analysis_queue(self) -> AnalysisQueue:
        return AnalysisQueue(self, self.settings.analysis_delay)


class AnalysisQueue:
    """Clients whose answers changed, analysed by one background thread per worker.

    A client is analysed ``delay`` seconds after its first unanalysed change, so a burst of
    submissions (a client's form, the clinician's prediction, an import) costs one analysis,
    and the analyses of a busy clinic take at most one thread's time away from requests. A
    failure is logged (without client data) and never touches a stored submission; risk
    alerts are raised at submission and do not wait for this."""

    def __init__(self, clinic: Clinic, delay: float) -> None:
        self.clinic = clinic
        self.delay = delay
        self._due: dict[str, float] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._busy = 0

    def mark(self, client_id: str) -> None:
        if not client_id:
            return
        with self._wake:
            self._due.setdefault(client_id, time.monotonic() + self.delay)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="alliance-analysis", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()

    def pending(self) -> int:
        with self._wake:
            return len(self._due) + self._busy

    def drain(self, timeout: float) -> bool:
        """Analyse every marked client now, without waiting for its delay (a worker that
        stops finishes what it owes); False if that took longer than ``timeout``."""
        with self._wake:
            if not self._due and not self._busy:
                return True
            now = time.monotonic()
            self._due = dict.fromkeys(self._due, now)
            self._wake.notify_all()
        return self.wait_idle(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every marked client has been analysed; False on timeout."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._due and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due:
                    self._wake.wait()
                client_id, due = min(self._due.items(), key=lambda item: item[1])
                wait = due - time.monotonic()
                if wait > 0:
                    self._wake.wait(timeout=wait)
                    continue
                del self._due[client_id]
                self._busy += 1
            try:
                analyse_now(self.clinic, client_id)
            finally:
                with self._wake:
                    self._busy -= 1
                    self._wake.notify_all()


def catch_up(clinic: Clinic) -> int:
    """Queue the clients whose ratings changed in the last ``analysis_catch_up_minutes``: a
    worker that stopped abruptly took its queue with it. Analysing a client again is harmless
    (alerts are keyed). Returns how many were queued."""
    minutes = clinic.settings.analysis_catch_up_minutes
    if minutes <= 0:
        return 0
    since = utcnow() - dt.timedelta(minutes=minutes)
    try:
        with clinic.sessions() as db:
            clients = changed_since(db, since)
    except Exception:  # a worker starts even if this fails; the log holds no client data
        logger.exception("the catch-up analysis at start could not list the clients")
        return 0
    for client_id in clients:
        clinic.analysis_queue.mark(client_id)
    return len(clients)


def analyse_now(clinic: Clinic, client_id: str) -> None:
    """Run the analytics for a client and open alerts for new signals."""
    try:
        with clinic.sessions() as db:
            refresh_alerts(db, clinic.registry, client_id)
            db.commit()
    except Exception:  # keep serving; the log holds no client data
        logger.exception("the analysis after a submission failed")


def analyse(clinic: Clinic, client_id: str) -> None:
    """After a response was sent: analyse the client now (``analysis_delay`` 0, as in tests)
    or put it on the worker's queue."""
    if not client_id:
        return
    if clinic.settings.analysis_delay <= 0:
        analyse_now(clinic, client_id)
    else:
        clinic.analysis_queue.mark(client_id)


def send_alert_messages(clinic: Clinic) -> None:
    """Send what the outbox owes and escalate what is due (risk alerts out of the app). A
    failure is logged without client data and tried again at the next run."""
    try:
        with clinic.sessions() as db:
            dispatch(db, clinic.outbound())
    except Exception:  # keep serving; the outbox keeps what was not sent
        logger.exception("sending risk alert messages failed")


def after_submission(clinic: Clinic, client_id: str) -> None:
    """After a response with new answers was sent: first the risk alerts' messages (at once,
    not after the analysis delay), then the analysis of the client's series."""
    send_alert_messages(clinic)
    analyse(clinic, client_id)


class AlertTicker:
    """A served worker's timer: every ``interval`` seconds it sends what is due (retries of
    failed messages, messages of alerts raised by imports from the command line) and
    escalates risk alerts left unacknowledged past their organization's time. Several
    workers may tick at once: the outbox's leases and the escalation claim keep every
    message single."""

    def __init__(self, clinic: Clinic, interval: float) -> None:
        self.clinic = clinic
        self.interval = interval
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="alliance-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            send_alert_messages(self.clinic)
            self.ticks += 1

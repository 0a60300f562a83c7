"""Sending mail to clients: a small interface, an SMTP implementation, and an in-memory one
for tests and for installations without a mail server."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

from alliance.config import Settings


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


@dataclass
class SmtpMailer:
    """Sends through an SMTP server: plain, upgraded with STARTTLS (``starttls``, usually port
    587) or TLS from the first byte (``implicit_tls``, usually 465); certificates are checked
    against the system's authorities unless ``tls_context`` says otherwise."""

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 20.0
    implicit_tls: bool = False
    tls_context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer | None:
        """The configured mail server's sender, or None when none is configured."""
        if not settings.smtp_host:
            return None
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            settings.smtp_user,
            settings.smtp_password,
            starttls=settings.smtp_starttls,
            implicit_tls=settings.smtp_tls,
        )

    def message(self, mail: Mail) -> EmailMessage:
        """``mail`` with the headers RFC 5322 asks for: Date and a Message-ID in the sender's
        domain (spam filters mark mail without them)."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(mail.text)
        return message

    def send(self, mail: Mail) -> None:
        message = self.message(mail)
        context = self.tls_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.starttls:
                smtp.starttls(context=context)
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


@dataclass
class MemoryMailer:
    """Keeps mail in a list instead of sending it."""

    sent: list[Mail] = field(default_factory=list)

    def send(self, mail: Mail) -> None:
        self.sent.append(mail)

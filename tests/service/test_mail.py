"""The SMTP sender: implicit TLS (port 465 style) with the certificate checked, and the mail
server's password from a file."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from alliance.config import Settings
from alliance.services.mail import Mail, SmtpMailer


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made here: nothing downloaded)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_implicit_tls_sends_over_tls_and_checks_the_certificate(tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_tls)
    controller.start()
    mail = Mail(to="duty@example.org", subject="s", text="t")
    try:
        trusting = ssl.create_default_context(cafile=str(cert_file))
        sender = SmtpMailer(
            "127.0.0.1", port, "clinic@example.org", implicit_tls=True, tls_context=trusting
        )
        sender.send(mail)
        with pytest.raises(ssl.SSLCertVerificationError):  # the system's authorities only
            SmtpMailer("127.0.0.1", port, "clinic@example.org", implicit_tls=True).send(mail)
    finally:
        controller.stop()
    [message] = inbox.messages
    assert message["To"] == "duty@example.org"
    assert message["Message-ID"].endswith("@example.org>")


def test_settings_read_the_mail_password_from_a_file_and_refuse_two_tls_modes(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret from a file\nignored\n", encoding="utf-8")
    settings = Settings(smtp_host="mail", smtp_password_file=secret, smtp_tls=True, smtp_port=465)
    assert settings.smtp_password == "s3cret from a file"
    mailer = SmtpMailer.from_settings(settings)
    assert mailer is not None and mailer.implicit_tls and mailer.password == "s3cret from a file"
    with pytest.raises(ValidationError, match="set smtp_password or smtp_password_file"):
        Settings(smtp_password="x", smtp_password_file=secret)
    with pytest.raises(ValidationError, match="two ways of starting TLS"):
        Settings(smtp_tls=True, smtp_starttls=True)
    with pytest.raises(ValidationError, match="cannot read it"):
        Settings(smtp_password_file=tmp_path / "missing")
    assert SmtpMailer.from_settings(Settings()) is None

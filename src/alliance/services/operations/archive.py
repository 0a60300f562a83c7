"""The backup file: a tar of ``manifest.json`` and the database copy, optionally encrypted
with a passphrase.

Encryption uses only the ``cryptography`` package's primitives: scrypt derives a 256-bit key
from the passphrase and a random salt (n=2**15, r=8, p=1: RFC 7914's interactive-use
parameters doubled), and AES-256-GCM seals the tar in chunks of 1 MiB under the STREAM
construction (Hoang, Reyhanitabar, Rogaway & Vizár 2015, "Online authenticated-encryption and
its nonce-reuse misuse-resistance", CRYPTO 2015; the one age and Tink's streaming AEAD use):
each chunk's 96-bit nonce is a random 7-byte prefix, a 4-byte chunk counter and a byte that is
1 only on the last chunk, and the file's header is authenticated with every chunk. So a
chunk cannot be changed, dropped, reordered or moved to another file, nor the file cut short,
without decryption failing; a wrong passphrase fails on the first chunk.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"alliance-backup-encrypted 1\n"
CHUNK = 1 << 20
TAG = 16
SCRYPT = {"n": 2**15, "r": 8, "p": 1}


class BackupError(Exception):
    """A backup that cannot be made, read or restored; the message says why."""


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def _key(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"])
    return kdf.derive(passphrase.encode("utf-8"))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 2**32:
        raise BackupError("the backup is too large to encrypt (over 4 PiB)")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _chunks(source: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """The source in chunks of CHUNK bytes, each with whether it is the last (an empty
    source gives one empty last chunk)."""
    current = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        yield current, not following
        if not following:
            return
        current = following


def encrypt(source: Path, target: Path, passphrase: str) -> None:
    if len(passphrase) < 12:
        raise BackupError("a backup passphrase has at least 12 characters")
    salt, prefix = os.urandom(16), os.urandom(7)
    header = {
        "kdf": "scrypt",
        **SCRYPT,
        "salt": base64.b64encode(salt).decode(),
        "cipher": "AES-256-GCM STREAM",
        "chunk": CHUNK,
        "nonce_prefix": base64.b64encode(prefix).decode(),
    }
    head = MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n"
    aead = AESGCM(_key(passphrase, salt, SCRYPT))
    with source.open("rb") as plain, target.open("wb") as sealed:
        sealed.write(head)
        for counter, (chunk, last) in enumerate(_chunks(plain)):
            sealed.write(aead.encrypt(_nonce(prefix, counter, last), chunk, head))


def decrypt(source: Path, target: Path, passphrase: str) -> None:
    with source.open("rb") as sealed, target.open("wb") as plain:
        if sealed.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{source} is not an encrypted alliance backup")
        line = sealed.readline()
        try:
            header = json.loads(line)
            salt = base64.b64decode(header["salt"])
            prefix = base64.b64decode(header["nonce_prefix"])
            params = {k: int(header[k]) for k in ("n", "r", "p")}
            size = int(header["chunk"]) + TAG
        except (ValueError, KeyError, TypeError):
            raise BackupError(f"{source}: the encryption header is damaged") from None
        head = MAGIC + line
        aead = AESGCM(_key(passphrase, salt, params))
        counter = 0
        current = sealed.read(size)
        while True:
            following = sealed.read(size)
            last = not following
            try:
                plain.write(aead.decrypt(_nonce(prefix, counter, last), current, head))
            except InvalidTag:
                if counter == 0:
                    raise BackupError(
                        f"{source}: wrong passphrase, or the file is damaged"
                    ) from None
                raise BackupError(
                    f"{source}: damaged, cut short or altered at chunk {counter}"
                ) from None
            if last:
                return
            counter += 1
            current = following

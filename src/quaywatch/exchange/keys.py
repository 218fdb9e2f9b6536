"""Ed25519 keys: their ids, and the key directory that holds an administration's private keys.

A key's id is the hex SHA-256 of its raw 32-byte public key, so anyone holding the public key
can check the id. Private keys are PEM files (PKCS #8, unencrypted) named ``KEYID.pem`` in the
key directory, created with mode 0600 in a directory of mode 0700, and never stored in the
database; a key file that others may read is refused, as ssh refuses one. The API tokens that
partners issued to this node for their inboxes are kept there too (``push-tokens/CODE.token``,
mode 0600). The cryptography is
the ``cryptography`` package's (OpenSSL), none of it written here.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from quaywatch.errors import ConfigurationError, InputError

#: The one signature scheme quaywatch signs and verifies with.
SCHEME = "ed25519"


def public_bytes(public: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of ``public``."""
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """The id of ``public``: the hex SHA-256 of its raw bytes."""
    return hashlib.sha256(public_bytes(public)).hexdigest()


def public_from_hex(text: str) -> Ed25519PublicKey:
    """The public key written as 64 hex digits; ``InputError`` if it is not one."""
    try:
        raw = bytes.fromhex(text)
        if len(raw) != 32 or raw.hex() != text:
            raise ValueError
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise InputError("a public key must be 64 lower-case hex digits (Ed25519)") from None


def verifies(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is ``public``'s over ``message``."""
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


class KeyDir:
    """The directory of an administration's private keys (``QUAYWATCH_KEY_DIR``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _file(self, kid: str) -> Path:
        if len(kid) != 64 or any(c not in "0123456789abcdef" for c in kid):
            raise InputError(f"{kid!r} is not a key id (64 hex digits)")
        return self.path / f"{kid}.pem"

    def generate(self) -> Ed25519PrivateKey:
        """A new private key, written to the directory (mode 0600) before it is returned."""
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self._file(key_id(private.public_key()))
        # O_EXCL: never overwrite a key; the mode is set at creation, so no moment exists in
        # which another user could open the file.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        return private

    def has(self, kid: str) -> bool:
        """Whether the directory holds the private key ``kid``."""
        return self._file(kid).is_file()

    def load(self, kid: str) -> Ed25519PrivateKey:
        """The private key ``kid``; ``ConfigurationError`` if missing, readable by others, or
        not the key its name says."""
        path = self._file(kid)
        try:
            mode = path.stat().st_mode
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"private key {kid} cannot be read from the key directory {self.path} "
                f"(QUAYWATCH_KEY_DIR): {exc.strerror}"
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(
                f"private key file {path} may be read by other users (mode "
                f"{stat.S_IMODE(mode):04o}); make it 0600 (chmod 600) before it is used"
            )
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(f"{path} is not an unencrypted PEM private key") from None
        if not isinstance(private, Ed25519PrivateKey) or key_id(private.public_key()) != kid:
            raise ConfigurationError(f"{path} does not hold the Ed25519 key {kid}")
        return private

    def _token_file(self, administration: str) -> Path:
        if not administration.isalnum() or not 2 <= len(administration) <= 20:
            raise InputError(f"{administration[:40]!r} is not an administration code")
        return self.path / "push-tokens" / f"{administration.upper()}.token"

    def save_push_token(self, administration: str, token: str) -> None:
        """Keep the API token ``administration`` issued to this node for its inbox (mode 0600,
        replacing one kept before): the HTTP push presents it. Never in the database."""
        token = check_push_token(token)
        target = self._token_file(administration)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(token + "\n")
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)

    def push_token(self, administration: str) -> str | None:
        """The token kept for ``administration``'s inbox, None if none; ``ConfigurationError``
        if other users may read its file."""
        path = self._token_file(administration)
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"push token file {path} cannot be read: {exc}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(
                f"push token file {path} may be read by other users (mode "
                f"{stat.S_IMODE(mode):04o}); make it 0600 (chmod 600) before it is used"
            )
        return text or None


def check_push_token(token: str) -> str:
    """``token`` trimmed if it can be kept as a push token (1 to 400 printable ASCII
    characters); ``InputError`` else."""
    token = token.strip()
    if not token or len(token) > 400 or not token.isascii() or not token.isprintable():
        raise InputError("the push token must be 1 to 400 printable ASCII characters")
    return token

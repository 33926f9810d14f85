"""The audit key: an Ed25519 key pair, kept in files outside the database, that signs checkpoints.

The private key is a PKCS#8 PEM file readable by its owner only (0600); it signs the chain's
checkpoints (engine/core/checkpoints.py). The public key is written beside it (`<name>.pub`)
for those who verify and must not sign: an auditor, the receiver of the checkpoint webhook.
A key is named by its fingerprint, the first 16 hex digits of the SHA-256 of its raw bytes,
which every checkpoint carries so that verifying picks the right key after a rotation.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import GongjianError

KEY_SETTING = "GONGJIAN_AUDIT_KEY"


class AuditKeyError(GongjianError):
    """The audit key cannot be used: missing, unreadable, open to others, or not Ed25519."""


@dataclass(frozen=True)
class KeyInfo:
    """Where a key pair was written (or found) and its fingerprint."""

    path: Path
    public_path: Path
    key_id: str
    created: bool


def public_path_of(path: Path) -> Path:
    """Where the public key of a private key file is kept: the same name with `.pub`."""
    return Path(path).with_suffix(".pub")


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A key's fingerprint: 16 hex digits of the SHA-256 of its raw public bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_key(path: Path) -> KeyInfo:
    """Write a new key pair: the private key 0600 (never over an existing file), the public beside it."""
    path = Path(path)
    if path.exists():
        raise AuditKeyError(
            f"审计密钥 {path} 已存在，未覆盖 / the audit key {path} exists and was left as it is "
            "(a new key cannot vouch for the checkpoints signed with this one; to rotate, move "
            "it aside and keep its .pub file to verify them)")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # Created 0600 from the start (no moment in which others could read it).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.chmod(path, 0o600)  # whatever the umask was
    public_path = public_path_of(path)
    public_path.write_bytes(_public_pem(key.public_key()))
    return KeyInfo(path, public_path, key_id_of(key.public_key()), created=True)


def ensure_key(path: Path) -> KeyInfo:
    """The key at `path`, generated first when there is none (for `gongjian init`)."""
    path = Path(path)
    if not path.exists():
        return generate_key(path)
    key = load_signing_key(path)
    public_path = public_path_of(path)
    if not public_path.exists():
        public_path.write_bytes(_public_pem(key.public_key()))
    return KeyInfo(path, public_path, key_id_of(key.public_key()), created=False)


def _missing(path: Path) -> AuditKeyError:
    return AuditKeyError(
        f"审计密钥文件 {path} 不存在 / the audit key file {path} does not exist: run "
        f"`gongjian audit keygen` to create it, or set {KEY_SETTING} to where the key is kept")


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The private key, refused when the file is missing, open to others or not an Ed25519 key."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise AuditKeyError(f"审计密钥文件 {path} 无法读取 / the audit key file {path} cannot "
                            f"be read: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(
            f"审计密钥文件 {path} 对其他用户可读（权限 {stat.S_IMODE(mode):04o}）/ the audit key "
            f"file {path} is open to other users (mode {stat.S_IMODE(mode):04o}); only its "
            f"owner may read it: chmod 600 {path}")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise AuditKeyError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The public key of a file holding either half of the pair (the private one is not kept)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise AuditKeyError(f"the audit key file {path} cannot be read: {exc.strerror}") from None
    try:
        if b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise AuditKeyError(f"{path} is not a PEM key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def verifying_keys(paths: list[Path]) -> dict[str, Ed25519PublicKey]:
    """The public keys of the given files by fingerprint; a private key file whose copy is
    absent falls back to its `.pub` beside it (an auditor's machine holds only that)."""
    keys = {}
    for path in paths:
        path = Path(path)
        if not path.exists() and public_path_of(path).exists():
            path = public_path_of(path)
        key = load_public_key(path)
        keys[key_id_of(key)] = key
    return keys

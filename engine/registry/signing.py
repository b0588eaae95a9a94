"""minisign signatures (ed25519), read and written in minisign's own formats, so `minisign -S`/`-V` interoperate.

A public key is `RW` + base64(`Ed` + 8-byte key id + 32-byte key). A signature file has four lines:
an untrusted comment, base64(algorithm + key id + 64-byte signature), `trusted comment: ...`, and
base64(global signature). The algorithm is `Ed` (legacy: the message itself is signed) or `ED` (prehashed:
its BLAKE2b-512 is); the global signature covers the signature and the trusted comment, so the comment
(which carries the timestamp and file name) cannot be swapped. Secret keys written here are minisign's
unencrypted kind (`minisign -G -W`); encrypted ones are refused with a way out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from engine.errors import SignatureError

_NO_KDF = b"\0\0"
_CHECKSUM = b"B2"


@dataclass(frozen=True)
class PublicKey:
    key_id: bytes
    key: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        """A key as minisign prints it (`RW...`), or the whole `.pub` file with its comment line."""
        line = next((ln.strip() for ln in text.strip().splitlines() if not ln.startswith("untrusted comment:")), "")
        raw = _b64(line, "public key")
        if len(raw) != 42 or raw[:2] != b"Ed":
            raise SignatureError(
                "not a minisign public key (expected RW... of 56 characters)",
                hint="use the second line of the .pub file `foxplug index keygen` or `minisign -G` wrote",
            )
        return cls(raw[2:10], Ed25519PublicKey.from_public_bytes(raw[10:]))

    def __str__(self) -> str:
        return base64.b64encode(b"Ed" + self.key_id + self.key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()

    @property
    def id_hex(self) -> str:
        """The key id as minisign prints it: hex of the little-endian number."""
        return self.key_id[::-1].hex().upper()


@dataclass(frozen=True)
class SecretKey:
    key_id: bytes
    key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SecretKey:
        return cls(os.urandom(8), Ed25519PrivateKey.generate())

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.key_id, self.key.public_key())

    @classmethod
    def parse(cls, text: str) -> SecretKey:
        line = next((ln.strip() for ln in text.strip().splitlines() if not ln.startswith("untrusted comment:")), "")
        raw = _b64(line, "secret key")
        if len(raw) != 158 or raw[:2] != b"Ed":
            raise SignatureError("not a minisign secret key", hint="create one with `foxplug index keygen`")
        if raw[2:4] != _NO_KDF:
            raise SignatureError(
                "this minisign secret key is password-protected, which foxplug does not read",
                hint="sign with `minisign -S -m index.json` itself, or create a key with `foxplug index keygen`",
            )
        key_id, secret, checksum = raw[54:62], raw[62:126], raw[126:158]
        if hashlib.blake2b(b"Ed" + key_id + secret, digest_size=32).digest() != checksum:
            raise SignatureError("the minisign secret key is corrupt (its checksum does not match)")
        return cls(key_id, Ed25519PrivateKey.from_private_bytes(secret[:32]))

    def dump(self, comment: str = "foxplug secret key") -> str:
        seed = self.key.private_bytes_raw()
        secret = seed + self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        checksum = hashlib.blake2b(b"Ed" + self.key_id + secret, digest_size=32).digest()
        raw = b"Ed" + _NO_KDF + _CHECKSUM + bytes(48) + self.key_id + secret + checksum
        return f"untrusted comment: {comment}\n{base64.b64encode(raw).decode()}\n"

    def sign(self, message: bytes, trusted_comment: str) -> str:
        """A prehashed (`ED`) signature file for `message`, as `minisign -S` writes it."""
        if "\n" in trusted_comment:
            raise ValueError("a trusted comment is one line")
        signature = self.key.sign(hashlib.blake2b(message, digest_size=64).digest())
        comment = trusted_comment.encode()
        global_signature = self.key.sign(signature + comment)
        return (
            f"untrusted comment: signature from foxplug secret key {self.public.id_hex}\n"
            f"{base64.b64encode(b'ED' + self.key_id + signature).decode()}\n"
            f"trusted comment: {trusted_comment}\n"
            f"{base64.b64encode(global_signature).decode()}\n"
        )


def public_key_file(key: PublicKey) -> str:
    return f"untrusted comment: minisign public key {key.id_hex}\n{key}\n"


def verify(message: bytes, signature_text: str, key: PublicKey, *, what: str) -> str:
    """Check `signature_text` (a .minisig file) over `message` against `key`; returns the trusted comment.

    Raises SignatureError saying which check failed: format, key id, signature, or trusted comment.
    """
    lines = signature_text.strip().splitlines()
    if len(lines) != 4 or not lines[2].startswith("trusted comment: "):
        raise SignatureError(f"{what}: the signature is not a minisign signature file (4 lines)")
    raw = _b64(lines[1], "signature")
    if len(raw) != 74 or raw[:2] not in (b"Ed", b"ED"):
        raise SignatureError(f"{what}: the signature is not ed25519 (`Ed` or `ED`)")
    if raw[2:10] != key.key_id:
        raise SignatureError(
            f"{what} is signed by key {raw[2:10][::-1].hex().upper()}, but the trusted key is {key.id_hex}",
            hint="check registry.indexes.<name>.key; after a key rotation, put the new public key there",
        )
    signed = hashlib.blake2b(message, digest_size=64).digest() if raw[:2] == b"ED" else message
    try:
        key.key.verify(raw[10:], signed)
    except InvalidSignature:
        raise SignatureError(
            f"{what}: the signature does not match its content (changed after signing?)",
            hint="the index was modified or corrupted in transit; do not trust this copy",
        ) from None
    comment = lines[2].removeprefix("trusted comment: ")
    try:
        key.key.verify(_b64(lines[3], "global signature"), raw[10:] + comment.encode())
    except InvalidSignature:
        raise SignatureError(f"{what}: the trusted comment was changed after signing") from None
    return comment


def trusted_comment(file_name: str) -> str:
    return f"timestamp:{int(time.time())}\tfile:{file_name}\thashed"


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"the {what} is not valid base64") from None

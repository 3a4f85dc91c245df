"""WeCom's callback crypto (加解密方案): SHA-1 signatures and AES-256-CBC with 32-byte PKCS#7 padding.

The cipher is the `cryptography` library's; this module only arranges WeCom's framing around it:
plaintext = 16 random bytes + 4-byte big-endian length + message + receiveid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_BITS = 32 * 8  # WeCom pads to 32-byte blocks, not AES's 16


class CryptoError(ValueError):
    """A callback that does not verify or decrypt: refused with a 4xx, never a 500."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """WeCom's msg_signature: sha1 of the four strings sorted as strings and joined."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts for one app (token, EncodingAESKey, receiveid = the corp id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("WECOM_AES_KEY is not a 43-character EncodingAESKey") from None
        if len(encoding_aes_key) != 43 or len(key) != 32:
            raise ValueError("WECOM_AES_KEY is not a 43-character EncodingAESKey")
        self.token, self.key, self.receive_id = token, key, receive_id.encode()

    def __repr__(self) -> str:  # never the token or the key
        return f"WeComCrypto(receive_id={self.receive_id.decode()!r})"

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        """Raise CryptoError unless msg_signature is right; compared in constant time."""
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), msg_signature.encode("utf-8", "replace")):
            raise CryptoError("bad signature")

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside a base64 Encrypt value; CryptoError for anything malformed or not for our receiveid."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("not base64") from None
        if not data or len(data) % 16:
            raise CryptoError("not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
        try:
            plain = unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise CryptoError("bad padding") from None
        if len(plain) < 20:
            raise CryptoError("too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("bad length")
        message, receive_id = plain[20:20 + length], plain[20 + length:]
        if not hmac.compare_digest(receive_id, self.receive_id):
            raise CryptoError("not for this receiveid")
        return message

    def encrypt(self, message: bytes, random16: bytes | None = None) -> str:
        """Base64 of the encrypted message, framed and padded as WeCom does (for passive replies and tests)."""
        random16 = random16 if random16 is not None else os.urandom(16)
        plain = random16 + struct.pack(">I", len(message)) + message + self.receive_id
        padder = padding.PKCS7(BLOCK_BITS).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """The msg_signature WeCom would send with these values."""
        return signature(self.token, timestamp, nonce, encrypted)

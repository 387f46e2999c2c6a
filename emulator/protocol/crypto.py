"""Field encryption (PROTOCOL §3).

* AES-CBC-PKCS5 with a key derived by Java's ``SHA1PRNG`` from the access key,
  output ``iv + base64(ciphertext)``.
* RSA encryption of ``applicationSync.clientSecret`` with the merchant's public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

from cryptography.exceptions import InvalidKey, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, padding as sym_padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "IV_ALPHABET",
    "MIN_RSA_BITS",
    "RSA_PADDINGS",
    "aes_cbc_decrypt",
    "aes_cbc_encrypt",
    "aes_key",
    "encrypt_type_bits",
    "load_rsa_public_key",
    "rsa_decrypt_client_secret",
    "rsa_encrypt_client_secret",
    "sha1prng",
    "sha1prng_next_state",
]

IV_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_IV_LEN = 16
_AES_BITS = (128, 192, 256)

RSA_PADDINGS = ("pkcs1v15", "oaep-sha256", "oaep-sha256-mgf1sha1")
MIN_RSA_BITS = 1024


# -- SHA1PRNG ---------------------------------------------------------------


def _signed(b: int) -> int:
    return b - 256 if b > 127 else b


def sha1prng_next_state(state: bytes, block: bytes) -> bytes:
    """Java ``SecureRandom`` SHA1PRNG ``updateState``: state + block + 1, bytewise from index 0.

    The carry comes from adding the bytes as Java *signed* bytes, which is
    not the same as a plain unsigned 160-bit addition.
    """
    new = bytearray(state)
    carry = 1
    changed = False
    for i in range(len(new)):
        v = _signed(new[i]) + _signed(block[i]) + carry
        t = v & 0xFF
        changed |= new[i] != t
        new[i] = t
        carry = v >> 8
    if not changed:
        new[0] = (new[0] + 1) & 0xFF
    return bytes(new)


def sha1prng(seed: bytes, n: int) -> bytes:
    """First ``n`` bytes of a fresh Java SHA1PRNG seeded with ``seed`` (§3)."""
    state = hashlib.sha1(seed).digest()
    out = bytearray()
    while len(out) < n:
        block = hashlib.sha1(state).digest()
        out += block
        state = sha1prng_next_state(state, block)
    return bytes(out[:n])


# -- AES ----------------------------------------------------------------------


def aes_key(access_key: str, bits: int = 256) -> bytes:
    """AES key of Java ``KeyGenerator.init(bits, SHA1PRNG(accessKey))``."""
    if bits not in _AES_BITS:
        raise ValueError(f"AES key size must be one of {_AES_BITS}, not {bits}")
    return sha1prng(access_key.encode("utf-8"), bits // 8)


def encrypt_type_bits(encrypt_type: str | None) -> int:
    """Key size for a response's ``encryptType``: "1" or missing → 256, anything else → 128."""
    if encrypt_type is None or encrypt_type == "1":
        return 256
    return 128


def aes_cbc_encrypt(access_key: str, plaintext: str, bits: int = 256, iv: str | None = None) -> str:
    """Encrypt to ``iv + base64(ciphertext)``; a random 16-char IV from [0-9A-Za-z] when None."""
    if iv is None:
        iv = "".join(secrets.choice(IV_ALPHABET) for _ in range(_IV_LEN))
    iv_bytes = _iv_bytes(iv)
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key(access_key, bits)), modes.CBC(iv_bytes)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return iv + base64.b64encode(ciphertext).decode("ascii")


def aes_cbc_decrypt(access_key: str, token: str, bits: int = 256) -> str:
    """Inverse of ``aes_cbc_encrypt``; raises ValueError explaining what is wrong with ``token``."""
    if len(token) <= _IV_LEN:
        raise ValueError(
            f"encrypted value is too short ({len(token)} chars): expected a 16-char IV followed by Base64"
        )
    iv_bytes = _iv_bytes(token[:_IV_LEN])
    try:
        ciphertext = base64.b64decode(token[_IV_LEN:], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("encrypted value after the 16-char IV is not valid standard Base64") from None
    if not ciphertext or len(ciphertext) % 16:
        raise ValueError(f"ciphertext length {len(ciphertext)} is not a positive multiple of the 16-byte AES block")
    decryptor = Cipher(algorithms.AES(aes_key(access_key, bits)), modes.CBC(iv_bytes)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise ValueError(
            f"bad PKCS#5 padding after AES-{bits} decryption: wrong key, wrong key size or corrupted value"
        ) from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"AES-{bits} decryption did not produce UTF-8 text: wrong key or key size") from None


def _iv_bytes(iv: str) -> bytes:
    if len(iv) != _IV_LEN or not iv.isascii():
        raise ValueError(f"IV must be 16 ASCII characters, got {iv!r}")
    return iv.encode("ascii")


# -- RSA (applicationSync clientSecret) -------------------------------------------


def load_rsa_public_key(public_key: str | bytes) -> rsa.RSAPublicKey:
    """Load PEM SPKI, PEM PKCS#1, or bare Base64 DER (SPKI or PKCS#1); at least 1024 bits."""
    try:
        text = (public_key.decode("ascii") if isinstance(public_key, bytes) else public_key).strip()
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            der = base64.b64decode("".join(text.split()), validate=True)
            key = serialization.load_der_public_key(der)
    except (ValueError, binascii.Error, UnsupportedAlgorithm, InvalidKey) as exc:
        raise ValueError(f"cannot load the RSA public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"public key is {type(key).__name__}, not RSA")
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are required")
    return key


def _rsa_padding(name: str) -> rsa_padding.AsymmetricPadding:
    if name == "pkcs1v15":
        return rsa_padding.PKCS1v15()
    if name == "oaep-sha256":
        return rsa_padding.OAEP(mgf=rsa_padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    if name == "oaep-sha256-mgf1sha1":
        return rsa_padding.OAEP(mgf=rsa_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None)
    raise ValueError(f"unknown RSA padding {name!r}; expected one of {RSA_PADDINGS}")


def _max_plaintext(key_bytes: int, padding: str) -> int:
    return key_bytes - 11 if padding == "pkcs1v15" else key_bytes - 2 * 32 - 2


def rsa_encrypt_client_secret(public_key: str | bytes, secret: str, padding: str = "pkcs1v15") -> str:
    """Encrypt ``secret`` (UTF-8) in one RSA block and return standard Base64."""
    pad = _rsa_padding(padding)
    key = load_rsa_public_key(public_key)
    data = secret.encode("utf-8")
    limit = _max_plaintext((key.key_size + 7) // 8, padding)
    if len(data) > limit:
        raise ValueError(
            f"clientSecret is {len(data)} bytes; a {key.key_size}-bit key with {padding} takes at most {limit}"
        )
    return base64.b64encode(key.encrypt(data, pad)).decode("ascii")


def rsa_decrypt_client_secret(private_key_pem: str | bytes, token: str, padding: str = "pkcs1v15") -> str:
    """Merchant-side inverse of ``rsa_encrypt_client_secret`` (used by tests and the merchant stub)."""
    pad = _rsa_padding(padding)
    pem = private_key_pem.encode("ascii") if isinstance(private_key_pem, str) else private_key_pem
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"cannot load the RSA private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"private key is {type(key).__name__}, not RSA")
    try:
        ciphertext = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("clientSecret is not valid standard Base64") from None
    try:
        return key.decrypt(ciphertext, pad).decode("utf-8")
    except ValueError:
        raise ValueError(f"RSA decryption with {padding} failed: wrong key, padding or ciphertext") from None

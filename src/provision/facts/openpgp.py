"""OpenPGP public key files, read far enough to name their keys' fingerprints (pure).

What `rpm --import` is given is checked here first: the ASCII armor (with its CRC-24, if
any) or binary packets are decoded, and every primary public key (packet tag 6) is
fingerprinted as RFC 4880 / RFC 9580 define it: version 4 is SHA-1 over 0x99, a two-octet
length and the key packet's body; version 6 is SHA-256 over 0x9B, a four-octet length and
the body. Subkeys (tag 14) are not primary keys and are not listed; a secret key in a
public key file is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

MAX_KEY_BYTES = 1024 * 1024
ARMOR_BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
ARMOR_END = "-----END PGP PUBLIC KEY BLOCK-----"
TAG_SECRET_KEY = 5
TAG_PUBLIC_KEY = 6
TAG_SECRET_SUBKEY = 7


class KeyFileError(ValueError):
    """The data is not an OpenPGP public key file this reader understands."""


def normalise_fingerprint(value: str) -> str:
    """Upper-case hex without separators (spaces, colons, a leading 0x are dropped)."""
    text = re.sub(r"[\s:]", "", str(value))
    if text[:2].lower() == "0x":
        text = text[2:]
    return text.upper()


def valid_fingerprint(value: str) -> bool:
    """40 hex digits (a version 4 key) or 64 (version 6); key IDs are not fingerprints."""
    return bool(re.fullmatch(r"[0-9A-F]{40}|[0-9A-F]{64}", value))


def grouped(fingerprint: str) -> str:
    """`060A 61C5 ...`: the way fingerprints are published, in groups of four."""
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def dearmor(text: str) -> bytes:
    """The packets of every armored public key block in `text`, concatenated."""
    lines = text.replace("\r\n", "\n").split("\n")
    blocks: list[bytes] = []
    index = 0
    while index < len(lines):
        if lines[index].strip() != ARMOR_BEGIN:
            index += 1
            continue
        index += 1
        # armor headers (`Version: ...`, `Comment: ...`) end at the first empty line
        while index < len(lines) and lines[index].strip() and ":" in lines[index]:
            index += 1
        body: list[str] = []
        checksum: str | None = None
        while index < len(lines) and lines[index].strip() != ARMOR_END:
            line = lines[index].strip()
            if line.startswith("=") and len(line) == 5:
                checksum = line[1:]
            elif line:
                body.append(line)
            index += 1
        if index >= len(lines):
            raise KeyFileError("the armored key block has no END line")
        try:
            data = base64.b64decode("".join(body), validate=True)
        except (binascii.Error, ValueError):
            raise KeyFileError("the armored key block is not valid base64")
        if checksum is not None:
            try:
                expected = int.from_bytes(base64.b64decode(checksum, validate=True), "big")
            except (binascii.Error, ValueError):
                raise KeyFileError("the armor checksum line is not valid base64")
            if expected != _crc24(data):
                raise KeyFileError("the armor checksum does not match the key data")
        blocks.append(data)
        index += 1
    if not blocks:
        raise KeyFileError(f"no `{ARMOR_BEGIN}` found")
    return b"".join(blocks)


def packets(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of each packet; old and new header formats, no partial lengths."""
    result: list[tuple[int, bytes]] = []
    position = 0
    while position < len(data):
        header = data[position]
        if not header & 0x80:
            raise KeyFileError(f"not an OpenPGP packet at byte {position}")
        position += 1
        if header & 0x40:  # new format
            tag = header & 0x3F
            if position >= len(data):
                raise KeyFileError("the key data ends inside a packet header")
            first = data[position]
            if first < 192:
                length, position = first, position + 1
            elif first < 224:
                if position + 1 >= len(data):
                    raise KeyFileError("the key data ends inside a packet header")
                length = ((first - 192) << 8) + data[position + 1] + 192
                position += 2
            elif first == 255:
                if position + 4 >= len(data):
                    raise KeyFileError("the key data ends inside a packet header")
                length = int.from_bytes(data[position + 1 : position + 5], "big")
                position += 5
            else:
                raise KeyFileError("partial packet lengths are not used in key files")
        else:
            tag = (header >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4, 3: 0}[header & 0x03]
            if size == 0:
                length = len(data) - position
            else:
                if position + size > len(data):
                    raise KeyFileError("the key data ends inside a packet header")
                length = int.from_bytes(data[position : position + size], "big")
                position += size
        if position + length > len(data):
            raise KeyFileError("the key data ends inside a packet")
        result.append((tag, data[position : position + length]))
        position += length
    return result


def fingerprint_of(body: bytes) -> str:
    """The fingerprint of one public key packet body (version 4 or 6)."""
    if not body:
        raise KeyFileError("an empty public key packet")
    version = body[0]
    if version == 4:
        if len(body) > 0xFFFF:
            raise KeyFileError("a version 4 key packet longer than 65535 bytes")
        digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest()
    elif version == 6:
        digest = hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest()
    else:
        raise KeyFileError(f"a version {version} public key (only versions 4 and 6 are read)")
    return digest.upper()


def primary_fingerprints(data: bytes) -> list[str]:
    """The fingerprints of the primary public keys in a key file (armored or binary)."""
    if len(data) > MAX_KEY_BYTES:
        raise KeyFileError(f"the key file is larger than {MAX_KEY_BYTES} bytes")
    stripped = data.lstrip()
    if stripped.startswith(b"-----BEGIN PGP"):
        if b"PRIVATE KEY BLOCK" in data:
            raise KeyFileError("the file holds a PRIVATE key block")
        raw = dearmor(data.decode("ascii", errors="replace"))
    else:
        raw = data
    found = []
    for tag, body in packets(raw):
        if tag in (TAG_SECRET_KEY, TAG_SECRET_SUBKEY):
            raise KeyFileError("the file holds a secret key, not a public key")
        if tag == TAG_PUBLIC_KEY:
            found.append(fingerprint_of(body))
    if not found:
        raise KeyFileError("no public key packet in the file")
    return found

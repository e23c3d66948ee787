"""The tests' transparency log ("Rekor"): an append-only RFC 6962 Merkle tree that signs
what it logs, with a signed entry timestamp (SET) over the canonical JSON of each entry, and
signed-note checkpoints of the tree's root, as Rekor v1 does."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

Key = ec.EllipticCurvePrivateKey


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def key_id(key: Key) -> bytes:
    """RFC 6962's log ID: SHA-256 of the DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


def _leaf_hash(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two below n (RFC 6962, section 2.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def tree_hash(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(tree_hash(leaves[:k]), tree_hash(leaves[k:]))


def audit_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """The inclusion proof of leaf `index`, from the leaf's sibling upwards (RFC 6962 PATH)."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*audit_path(index, leaves[:k]), tree_hash(leaves[k:])]
    return [*audit_path(index - k, leaves[k:]), tree_hash(leaves[:k])]


@dataclass(frozen=True)
class LogEntry:
    """One entry of the log, with everything a bundle or cosign's annotation carries."""

    index: int
    body: bytes  # the canonicalized entry body, as logged
    integrated_time: int
    log_id: bytes
    signed_entry_timestamp: bytes
    proof: list[bytes]
    root_hash: bytes
    tree_size: int
    checkpoint: str


@dataclass
class TransparencyLog:
    """Rekor's part: an append-only RFC 6962 tree that signs what it logged."""

    key: Key = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    origin: str = "rekor.test - 1"
    leaves: list[bytes] = field(default_factory=lambda: [_leaf_hash(b"first entry, not ours")])

    def log(self, body: bytes, integrated_time: int) -> LogEntry:
        """Append `body`, then one more entry, so the proof has a right-hand part too."""
        index = len(self.leaves)
        self.leaves += [_leaf_hash(body), _leaf_hash(b"an entry after ours %d" % index)]
        root = tree_hash(self.leaves)
        size = len(self.leaves)
        canonical = json.dumps(
            {"body": b64(body), "integratedTime": integrated_time,
             "logID": key_id(self.key).hex(), "logIndex": index},
            sort_keys=True, separators=(",", ":"),
        ).encode()  # fmt: skip
        return LogEntry(
            index, body, integrated_time, key_id(self.key),
            self.key.sign(canonical, ec.ECDSA(hashes.SHA256())),
            audit_path(index, self.leaves), root, size, self.checkpoint(size, root),
        )  # fmt: skip

    def checkpoint(self, size: int, root: bytes) -> str:
        """A signed note: origin, size, root hash; the signature line starts with the key
        hint (the first four bytes of the log ID), as Rekor's checkpoints do."""
        note = f"{self.origin}\n{size}\n{b64(root)}\n"
        signature = self.key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        return f"{note}\n\u2014 rekor.test {b64(key_id(self.key)[:4] + signature)}\n"

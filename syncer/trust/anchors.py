"""A keyless rule's trust anchors: a Sigstore trusted_root.json (the CA certificates, the CT
log keys and the transparency log keys), read once when the rules are loaded, offline.

The default is the public-good root that the installed `sigstore` package ships (no TUF
refresh: a run may happen where only registries are reachable); `trust_root` names another,
for a private Sigstore or the tests' own. The file is parsed by `sigstore`'s models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

PUBLIC_GOOD = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"  # how sigstore names its shipped copy
TRUSTED_ROOT = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"


class BadTrustRoot(Exception):
    pass


@dataclass(frozen=True)
class Anchors:
    name: str  # as the rule names it: the trust_root path, or "the public-good Sigstore"
    root: Any  # sigstore.models.TrustedRoot, for sigstore's own verifier
    fulcio: list[x509.Certificate]  # every CA certificate, roots and intermediates
    ct_logs: dict[bytes, Any]  # CT log public keys by log ID
    rekor_logs: dict[bytes, Any]  # transparency log public keys by log ID


def public_good_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("sigstore._store") / PUBLIC_GOOD / "trusted_root.json"))


def looks_like_trust_root(path: Path) -> None:
    """What can be told without `sigstore`: a readable JSON trusted root (BadTrustRoot)."""
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise BadTrustRoot(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise BadTrustRoot(f"{path} is not JSON") from None
    media_type = document.get("mediaType") if isinstance(document, dict) else None
    if media_type != TRUSTED_ROOT:
        raise BadTrustRoot(f"{path} is not a Sigstore trusted root (mediaType {media_type!r})")


def load_anchors(path: Path | None, name: str) -> Anchors:
    """The anchors in `path` (None: the public-good root); BadTrustRoot says why not."""
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    from sigstore.errors import Error
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot.v1 import TrustedRoot as TrustedRootModel

    file = path or public_good_path()
    try:
        data = file.read_bytes()
        root = TrustedRoot.from_file(str(file))
        model = TrustedRootModel.from_json(data)
        fulcio = root.get_fulcio_certs()

        def keys(logs: list[Any]) -> dict[bytes, Any]:
            return {bytes(log.log_id.key_id): load_der_public_key(bytes(log.public_key.raw_bytes))
                    for log in logs}  # fmt: skip

        return Anchors(name, root, fulcio, keys(model.ctlogs), keys(model.tlogs))
    except OSError as exc:
        raise BadTrustRoot(f"cannot read {file}: {exc.strerror}") from None
    except (ValueError, TypeError, Error) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadTrustRoot(f"{file} is not a Sigstore trusted root: {first}") from None


def key_valid(key: Any, signature: bytes, data: bytes) -> bool:
    """A log's signature over `data`, as Sigstore's logs sign: ECDSA with the curve's hash,
    Ed25519, or RSA PKCS#1 v1.5 with SHA-256."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            digest = {256: hashes.SHA256(), 384: hashes.SHA384()}.get(key.curve.key_size)
            key.verify(signature, data, ec.ECDSA(digest or hashes.SHA512()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True

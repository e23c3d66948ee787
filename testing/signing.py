"""Signed images for the test bed: cosign-format signatures, attestations, SBOMs and OCI
referrers, made with `cryptography` and pushed with plain distribution API calls.

The formats are cosign's: a `sha256-<hex>.sig` tag holding a one-layer OCI manifest whose
layer is the simple-signing JSON payload (`application/vnd.dev.cosign.simplesigning.v1+json`)
and whose layer annotation `dev.cosignproject.cosign/signature` is the base64 ECDSA-P256/SHA-256
signature of that payload; `.att` holds a DSSE envelope, `.sbom` an SPDX document. An OCI 1.1
referrer is a manifest with a `subject`, listed in the `sha256-<hex>` tag-schema index.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
DSSE = "application/vnd.dsse.envelope.v1+json"
SPDX = "text/spdx+json"
EMPTY_CONFIG = b"{}"


@dataclass
class Key:
    private: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls) -> Key:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def write_public(self, path: Path) -> Path:
        path.write_bytes(self.public_pem())
        return path

    def sign(self, payload: bytes) -> str:
        return base64.b64encode(self.private.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _request(method: str, url: str, body: bytes = b"", content_type: str = "") -> str:
    data = body if method != "GET" else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (loopback)
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return str(response.headers.get("Location") or "")


def push_blob(host: str, repo: str, data: bytes) -> dict[str, object]:
    location = _request("POST", f"http://{host}/v2/{repo}/blobs/uploads/")
    url = location if location.startswith("http") else f"http://{host}{location}"
    separator = "&" if "?" in url else "?"
    _request("PUT", f"{url}{separator}digest={_sha(data)}", data, "application/octet-stream")
    return {"digest": _sha(data), "size": len(data)}


def push_manifest(host: str, repo: str, reference: str, manifest: dict[str, object]) -> str:
    """PUT a manifest at a tag or by digest; return its digest."""
    body = json.dumps(manifest, sort_keys=True).encode()
    media_type = str(manifest.get("mediaType", OCI_MANIFEST))
    _request("PUT", f"http://{host}/v2/{repo}/manifests/{reference}", body, media_type)
    return _sha(body)


def _one_layer(
    host: str, repo: str, layer: bytes, media_type: str, annotations: dict[str, str] | None = None,
    subject: dict[str, object] | None = None, artifact_type: str | None = None,
) -> dict[str, object]:  # fmt: skip
    config = push_blob(host, repo, EMPTY_CONFIG)
    blob = push_blob(host, repo, layer)
    manifest: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [
            {
                "mediaType": media_type,
                **blob,
                **({"annotations": annotations} if annotations else {}),
            }
        ],
    }
    if subject:
        manifest["subject"] = subject
    if artifact_type:
        manifest["artifactType"] = artifact_type
    return manifest


def simple_signing_payload(docker_reference: str, digest: str) -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": docker_reference},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        sort_keys=True,
    ).encode()


def companion_tag(digest: str, suffix: str = "") -> str:
    return digest.replace(":", "-") + suffix


def sign(host: str, repo: str, digest: str, key: Key, *, reference: str | None = None) -> str:
    """Push a cosign signature of `digest` (signing `reference`, default host/repo) as the
    `.sig` tag; return the signature manifest's digest."""
    payload = simple_signing_payload(reference or f"{host}/{repo}", digest)
    manifest = _one_layer(
        host, repo, payload, SIMPLE_SIGNING, {SIGNATURE_ANNOTATION: key.sign(payload)}
    )
    return push_manifest(host, repo, companion_tag(digest, ".sig"), manifest)


def attest(
    host: str, repo: str, digest: str, key: Key, predicate: str = "https://slsa.dev/provenance/v1"
) -> str:
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": predicate,
                            "subject": [{"digest": {"sha256": digest.split(":")[1]}}]}).encode()  # fmt: skip
    envelope = json.dumps(
        {
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64.b64encode(statement).decode(),
            "signatures": [{"sig": key.sign(statement)}],
        }
    ).encode()
    manifest = _one_layer(host, repo, envelope, DSSE, {"predicateType": predicate})
    return push_manifest(host, repo, companion_tag(digest, ".att"), manifest)


def attach_sbom(host: str, repo: str, digest: str) -> str:
    sbom = json.dumps({"spdxVersion": "SPDX-2.3", "name": repo, "packages": []}).encode()
    manifest = _one_layer(host, repo, sbom, SPDX)
    return push_manifest(host, repo, companion_tag(digest, ".sbom"), manifest)


def attach_referrer(host: str, repo: str, digest: str, size: int, artifact_type: str = SPDX) -> str:
    """An OCI 1.1 referrer of `digest`, pushed by digest, and the tag-schema index listing it."""
    subject = {"mediaType": OCI_INDEX, "digest": digest, "size": size}
    document = json.dumps({"referrer of": digest, "type": artifact_type}).encode()
    manifest = _one_layer(
        host, repo, document, artifact_type, subject=subject, artifact_type=artifact_type
    )
    body = json.dumps(manifest, sort_keys=True).encode()
    referrer = push_manifest(host, repo, _sha(body), manifest)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": referrer, "size": len(body), "artifactType": artifact_type}]}  # fmt: skip
    push_manifest(host, repo, companion_tag(digest), index)
    return referrer


def manifest_size(host: str, repo: str, reference: str) -> int:
    request = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{reference}", method="GET")
    request.add_header("Accept", f"{OCI_INDEX}, {OCI_MANIFEST}")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return len(response.read())

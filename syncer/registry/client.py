"""The questions syncer asks registries, before and after a copy: digests with HEAD (no pull
quota at Docker Hub, where a manifest GET costs one), manifests and blobs where skopeo reads
and writes them (the mirrors of registries.conf first), and the one write of its own (a
referrers index, byte for byte). The session under it answers 401s, backs off on 429s and says
"cannot tell" (None) rather than guess: callers then copy, never skip on doubt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from syncer.containers.auth import DockerAuth
from syncer.containers.pull_sources import Endpoint, RegistriesConf
from syncer.containers.registries_conf import RegistriesConfError
from syncer.imagelist.reference import Reference
from syncer.registry.http import HTTPError, Response
from syncer.registry.manifest import Manifest
from syncer.registry.session import Session
from syncer.registry.taglist import TagLists


class RegistryClient:
    """The questions syncer asks registries: digests (HEAD), manifests, blobs, tag lists.

    One a run: the session under it keeps each host's scheme and tokens, and `tag_lists` each
    repository's tags, for every step that asks.
    """

    def __init__(
        self,
        *,
        auth: DockerAuth,
        conf: RegistriesConf,
        insecure_hosts: Iterable[str] = (),
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.auth, self.conf = auth, conf
        self.session = Session(auth=auth, log=log)
        self.insecure_hosts = {h.lower() for h in insecure_hosts}
        # What the source serves, by reference, for this run: the check finds it, the copy,
        # the companions and the verification use it without asking again.
        self._serving: dict[str, tuple[Endpoint, str]] = {}
        self.tag_lists = TagLists(self)
        # The session's own tools, for the callers that bound or batch their requests.
        self.throttle = self.session.throttle
        self.quota = self.session.quota
        self.deadline = self.session.deadline
        self.at_once = self.session.at_once
        self.close = self.session.close

    # Public questions -------------------------------------------------------------------
    def destination_endpoint(self, ref: Reference) -> Endpoint | None:
        """Where skopeo writes `ref`, or None when the configuration blocks it."""
        endpoint = self.conf.destination(ref, insecure=self._forced_insecure(ref))
        return None if endpoint.blocked_by else endpoint

    def source_endpoints(self, ref: Reference) -> list[Endpoint]:
        """Where skopeo reads `ref`, in its order (mirrors first; never a blocked one)."""
        try:
            return self.conf.readable(ref, insecure=self._forced_insecure(ref))
        except RegistriesConfError:  # a rewrite to no valid reference: skopeo fails it too
            return []

    def _forced_insecure(self, ref: Reference) -> bool:
        """skopeo gets `--src/dest-tls-verify=false` for these: TLS off for every endpoint."""
        return ref.domain.lower() in self.insecure_hosts

    def destination_digest(self, ref: Reference) -> str | None:
        """Digest of what is at the destination now (None: absent or cannot tell).

        A tag+digest destination is written to its tag, so the tag is what is asked.
        """
        endpoint = self.destination_endpoint(ref)
        return self.head(endpoint, ref.tag or _manifest_ref(ref)) if endpoint else None

    def source_digest(self, ref: Reference) -> str | None:
        """Digest at the source, asked where skopeo would read it."""
        found = self.serving(ref)
        return found[1] if found else None

    def serving(self, ref: Reference) -> tuple[Endpoint, str] | None:
        """The first endpoint that has `ref`, and its digest there (HEAD requests only;
        remembered for the run, so the steps after the check ask nothing again)."""
        key = str(ref)
        if key in self._serving:
            return self._serving[key]
        found = None
        for endpoint in self.source_endpoints(ref):
            digest = self.head(endpoint, _manifest_ref(endpoint.reference))
            if digest is not None:
                found = endpoint, digest
                break
        if found is not None:
            self._serving[key] = found
        return found

    def manifest(self, ref: Reference) -> Manifest | None:
        """The manifest at the destination `ref` (by its tag, as `destination_digest`)."""
        endpoint = self.destination_endpoint(ref)
        return self.manifest_at(endpoint, ref.tag or _manifest_ref(ref)) if endpoint else None

    def manifest_at(self, endpoint: Endpoint, reference: str) -> Manifest | None:
        response = self.get(endpoint, f"manifests/{reference}")
        if response is None or response.status_code != 200:
            return None
        digest = _digest_of(response.content)
        try:
            body = json.loads(response.content)
        except ValueError:
            return None
        return Manifest(digest, body, response.content) if isinstance(body, dict) else None

    def blob_json(self, ref: Reference, digest: str) -> dict[str, Any] | None:
        endpoint = self.destination_endpoint(ref)
        response = self.get(endpoint, f"blobs/{digest}") if endpoint else None
        if response is None or response.status_code != 200:
            return None
        try:
            data = json.loads(response.content)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    # Requests ----------------------------------------------------------------------------------
    def head(self, endpoint: Endpoint, reference: str) -> str | None:
        """The manifest digest of `reference` at `endpoint` (None: absent or cannot tell)."""
        response = self.session.send("HEAD", endpoint, f"manifests/{reference}")
        if response is None or response.status_code != 200:
            return None
        digest = response.headers.get("docker-content-digest")
        return digest if digest and digest.startswith("sha256:") else None

    def get(self, endpoint: Endpoint, suffix: str) -> Response | None:
        """GET `/v2/<path>/<suffix>` with auth and back-off; None when it cannot be reached."""
        return self.session.send("GET", endpoint, suffix)

    def blob_exists(self, endpoint: Endpoint, digest: str) -> bool | None:
        """Whether the repository holds the blob (None: cannot tell)."""
        response = self.session.send("HEAD", endpoint, f"blobs/{digest}")
        if response is None or response.status_code not in (200, 404):
            return None
        return response.status_code == 200

    def blob(self, endpoint: Endpoint, digest: str) -> bytes | None:
        """A blob's bytes, following a redirect to storage (Docker Hub, S3 behind Harbor);
        None when it cannot be read or its bytes do not have its digest."""
        response = self.session.send("GET", endpoint, f"blobs/{digest}")
        if response is not None and response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("location", "")
            client = self.session.client(verify=not endpoint.insecure)
            try:  # no Authorization to another host: the URL carries its own signature
                response = client.get(location, timeout=self.session.time_left() or 0.001)
            except HTTPError:
                return None
        if response is None or response.status_code != 200:
            return None
        return response.content if _digest_of(response.content) == digest else None

    def upload_blob(self, endpoint: Endpoint, digest: str, data: bytes) -> bool:
        """A monolithic upload (POST, then one PUT with the bytes): True when stored."""
        started = self.session.send("POST", endpoint, "blobs/uploads/", push=True)
        location = started.headers.get("location", "") if started is not None else ""
        if started is None or started.status_code != 202 or not location:
            return False
        parts = urlsplit(urljoin(f"/v2/{endpoint.path}/blobs/uploads/", location))
        if parts.netloc and parts.netloc.lower() != endpoint.host.lower():
            return False  # an upload elsewhere: not this client's to follow (skopeo copies)
        query = f"{parts.query}&" if parts.query else ""
        target = f"{parts.path}?{query}{urlencode({'digest': digest})}"
        done = self.session.send("PUT", endpoint, target, (data, "application/octet-stream"))
        return done is not None and done.status_code in (201, 204)

    def mount_blob(self, endpoint: Endpoint, digest: str, from_path: str) -> bool:
        """Mount a blob the registry holds in `from_path` into the endpoint's repository: True
        when mounted (201); a registry that answers with an upload instead (202) mounts
        nothing, and the upload it opened is cancelled."""
        query = urlencode({"mount": digest, "from": from_path})
        answer = self.session.send("POST", endpoint, f"blobs/uploads/?{query}", push=True)
        if answer is None:
            return False
        if answer.status_code == 202 and answer.headers.get("location"):
            parts = urlsplit(
                urljoin(f"/v2/{endpoint.path}/blobs/uploads/", answer.headers["location"])
            )
            if not parts.netloc or parts.netloc.lower() == endpoint.host.lower():
                self.session.send(
                    "DELETE",
                    endpoint,
                    parts.path + (f"?{parts.query}" if parts.query else ""),
                    push=True,
                )
        return answer.status_code == 201

    def delete_manifest(self, endpoint: Endpoint, digest: str) -> Response | None:
        """DELETE a manifest by digest (the registry removes every tag that points at it)."""
        return self.session.send("DELETE", endpoint, f"manifests/{digest}", delete=True)

    def put_manifest(self, endpoint: Endpoint, reference: str, raw: bytes, media_type: str) -> bool:
        """Write a manifest byte for byte (an index whose children are already there)."""
        response = self.session.send("PUT", endpoint, f"manifests/{reference}", (raw, media_type))
        return response is not None and response.status_code in (200, 201)


def _digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _manifest_ref(ref: Reference) -> str:
    """The manifest reference in the URL: the digest when pinned, else the tag."""
    return ref.digest or ref.tag or "latest"

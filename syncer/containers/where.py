"""`syncer where IMAGE...`: where syncer (and skopeo) read each image, with which TLS and
which credentials entry; the answer to "why did syncer ask that host?"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from syncer.containers.auth import DockerAuth
from syncer.containers.pull_sources import Endpoint, RegistriesConf
from syncer.containers.registries_conf import RegistriesConfError
from syncer.imagelist.reference import Reference


@dataclass(frozen=True)
class Answer:
    source: Reference
    error: str | None
    endpoints: list[Endpoint]  # every place skopeo tries, in order (blocked ones marked)
    blocked: str | None  # the prefix of the entry that blocks the image's own registry
    auth: dict[str, str | None]  # endpoint location -> the entry that applies (no secret)

    def as_json(self) -> dict[str, object]:
        readable = [e for e in self.endpoints if e.blocked_by is None]
        return {
            "source": str(self.source),
            "error": self.error,
            "endpoints": [
                {
                    "location": str(e.reference),
                    "insecure": e.insecure,
                    "mirror": e.mirror,
                    "auth_key": self.auth.get(e.location),
                }
                for e in readable
            ],
            "blocked": self.blocked is not None,
            "auth_key": self.auth.get(readable[-1].location) if readable else None,
        }


def where(
    sources: Iterable[Reference],
    conf: RegistriesConf,
    auth: DockerAuth,
    insecure_hosts: Iterable[str] = (),
) -> list[Answer]:
    forced = {h.lower() for h in insecure_hosts}
    answers = []
    for source in sources:
        try:
            endpoints = conf.endpoints(source, insecure=source.domain.lower() in forced)
        except RegistriesConfError as exc:  # skopeo fails this image the same way
            answers.append(Answer(source, str(exc), [], None, {}))
            continue
        own = conf.find(source.name)
        keys = {}
        for endpoint in endpoints:
            found = auth.lookup(endpoint.location) if endpoint.blocked_by is None else None
            keys[endpoint.location] = found.source if found else None
        blocked = own.prefix if own is not None and own.blocked else None
        answers.append(Answer(source, None, endpoints, blocked, keys))
    return answers


def render(answers: list[Answer], conf: RegistriesConf) -> str:
    lines = [f"# registries.conf read: {conf.describe()}"]
    for answer in answers:
        lines.append(str(answer.source))
        if answer.error:
            lines.append(f"  cannot be read: {answer.error}")
        for number, endpoint in enumerate(answer.endpoints, 1):
            kind = "mirror" if endpoint.mirror else "registry"
            if endpoint.blocked_by is not None:
                skopeo = "" if endpoint.skopeo_blocked else "; skopeo still tries it"
                lines.append(
                    f"  {number}. {endpoint.reference}  ({kind}) never read by syncer: "
                    f"blocked by [[registry]] prefix {endpoint.blocked_by!r}{skopeo}"
                )
                continue
            tls = "TLS off (insecure)" if endpoint.insecure else "TLS verified"
            key = answer.auth.get(endpoint.location) or "none (anonymous)"
            lines.append(f"  {number}. {endpoint.reference}  ({kind}) {tls}; credentials: {key}")
        if answer.blocked:
            lines.append(f"  blocked: its registry is blocked by prefix {answer.blocked!r}")
    return "\n".join(lines)

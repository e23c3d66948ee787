"""Answering a registry's 401: Basic credentials, or a token from the distribution token flow.

An `identitytoken` is an OAuth2 refresh token, exchanged as containers/image does (a POST with
`grant_type=refresh_token`); other credentials go to the realm as Basic auth, none at all for
an anonymous token.
"""

from __future__ import annotations

import base64
import re

from syncer.containers.auth import Credentials
from syncer.registry.http import Client, HTTPError

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="..."` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, rest = header.partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest))


def basic(credentials: Credentials) -> str:
    return base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()


def authorization(
    header: str,
    scope: str,
    credentials: Credentials | None,
    client: Client,
    timeout: float,
) -> str | None:
    """The Authorization value that answers the challenge in `header`, or None."""
    scheme, params = challenge(header)
    if scheme == "basic" and credentials and not credentials.identity_token:
        return "Basic " + basic(credentials)
    if scheme == "bearer" and "realm" in params:
        token = fetch_token(client, params, scope, credentials, timeout)
        return f"Bearer {token}" if token else None
    return None


def fetch_token(
    client: Client,
    params: dict[str, str],
    scope: str,
    credentials: Credentials | None,
    timeout: float,
) -> str | None:
    query = {"scope": scope, **({"service": params["service"]} if "service" in params else {})}
    try:
        if credentials and credentials.identity_token:
            form = {**query, "grant_type": "refresh_token", "client_id": "containers/image",
                    "refresh_token": credentials.identity_token}  # fmt: skip
            response = client.post(params["realm"], data=form, timeout=timeout)
        else:
            headers = {"Authorization": "Basic " + basic(credentials)} if credentials else {}
            response = client.get(params["realm"], params=query, headers=headers, timeout=timeout)
    except HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    token = data.get("token") or data.get("access_token")
    return str(token) if token else None

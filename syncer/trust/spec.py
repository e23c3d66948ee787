"""A `verify` rule as syncer.yaml writes it: which sources it guards and who must have signed
them, either a cosign key pair (`key`) or a keyless signer (`identity` or `identity_regex`,
with the OIDC `issuer`, checked against a Sigstore trust root). Pure: the configuration
reads it without loading keys or the `sigstore` package."""

from __future__ import annotations

from dataclasses import dataclass, fields

KEYS = ("match", "key", "identity", "identity_regex", "issuer", "trust_root")


@dataclass(frozen=True)
class VerifyRule:
    match: str  # a regular expression on the normalized source
    key: str | None = None  # a cosign public key, relative to the repository
    identity: str | None = None  # the certificate's SAN, exactly
    identity_regex: str | None = None  # or a regular expression it matches (re.search)
    issuer: str | None = None  # the OIDC issuer the certificate names, exactly
    trust_root: str | None = None  # a trusted_root.json; None: the public-good Sigstore

    @property
    def keyless(self) -> bool:
        return self.key is None

    def written(self) -> dict[str, str]:
        """The rule as syncer.yaml writes it (the keys that are set)."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}

    def signer(self) -> str:
        """Who the rule asks for, in words: `ID (ISSUER)` or `matching /RE/ (ISSUER)`."""
        who = self.identity if self.identity is not None else f"matching /{self.identity_regex}/"
        return f"{who} ({self.issuer})"

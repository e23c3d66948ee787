"""registries.conf read as containers/image reads it: the test tables of its
`pkg/sysregistriesv2/system_registries_v2_test.go` and `shortnames_test.go`, ported case by
case (the data and the files of its `testdata/`; see tests/data/README.md for the commit).

Go test names are kept in the test names here, so each case can be found upstream. Cases of
features syncer has no use for are left out and said so: the config cache (syncer reads the
files once a run), RootForImplicitAbsolutePaths (no such option in skopeo's CLI).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.containers.pull_sources import (
    RegistriesConf,
    ref_matching_prefix,
    ref_matching_subdomain_prefix,
    rewrite_reference,
)
from syncer.containers.registries_conf import RegistriesConfError, parse_location
from syncer.containers.registries_files import SYSTEM_FILE, Paths, load_config
from syncer.containers.shortnames import alias_value_problem, short_name_problem
from syncer.imagelist.reference import parse_named

DATA = Path(__file__).parent / "data" / "containers-image" / "sysregistriesv2" / "testdata"
NOWHERE = DATA / "this-does-not-exist"
A64 = "sha256:" + "a" * 64
B64 = "sha256:" + "b" * 64


def load(conf: str, conf_dir: Path = NOWHERE) -> RegistriesConf:
    return RegistriesConf.load(str(DATA / conf), str(conf_dir))


def locations(conf: RegistriesConf) -> list[str]:
    return [r.location for r in conf.config.registries]


# TestParseLocation
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("john.doe@example.com", "john.doe@example.com"),
        ("example.com", "example.com"),
        ("example.com/", "example.com"),
        ("example.com//////", "example.com"),
        ("example.com:5000/with/path", "example.com:5000/with/path"),
    ],
)
def test_parse_location(text: str, expected: str) -> None:
    assert parse_location(text) == expected


def test_parse_location_refuses_uri_schemes() -> None:
    with pytest.raises(RegistriesConfError) as raised:
        parse_location("https://example.com")
    assert (
        str(raised.value) == "invalid location 'https://example.com': URI schemes are not supported"
    )


# TestEmptyConfig
def test_empty_config(tmp_path: Path) -> None:
    assert load("empty.conf").config.registries == []
    # An implicit main file that does not exist is the same as an empty one.
    paths = Paths(tmp_path / "nope.conf", explicit=False, dirs=(NOWHERE,))
    assert load_config(paths).registries == []


# TestMirrors
def test_mirrors() -> None:
    conf = load("mirrors.conf")
    assert len(conf.config.registries) == 2
    reg = conf.find("registry.com/image:tag")
    assert reg is not None
    assert [(m.location, m.insecure) for m in reg.mirrors] == [
        ("mirror-1.registry.com", False),
        ("mirror-2.registry.com", True),
    ]


# TestRefMatchingSubdomainPrefix (the commented-out FIXME cases upstream are left out too)
@pytest.mark.parametrize(
    ("ref", "prefix", "expected"),
    [
        ("docker.io", "*.io", len("docker.io")),
        ("docker.io/foo", "*.com", -1),
        ("example.com/foo", "*.co", -1),
        ("example.com/foo", "*.example.com", -1),
        ("example.com/foo", "*.com", len("example.com")),
        ("example.com/foo:bar", "*.com", len("example.com")),
        ("example.com/foo/bar:baz", "*.com", len("example.com")),
        ("yet.another.example.com/foo", "**.example.com", -1),
        ("yet.another.example.com/foo", "***.another.example.com", -1),
        ("yet.another.example.com/foo", "**********.another.example.com", -1),
        ("yet.another.example.com/foo/bar", "**********.another.example.com", -1),
        ("yet.another.example.com/foo/bar", "*.another.example.com", len("yet.another.example.com")),
        ("another.example.com/namespace.com/foo/bar/bbq:baz", "*.example.com", len("another.example.com")),
        ("example.net/namespace-ends-in.com/foo/bar/bbq:baz", "*.com", -1),
        ("another.example.com/namespace.com/foo/bar/bbq:baz", "*.namespace.com", -1),
        ("sub.example.com/foo/bar", "*.com", len("sub.example.com")),
        ("sub.example.com/foo/bar", "*.example.com", len("sub.example.com")),
        ("another.sub.example.com/foo/bar/bbq:baz", "*.example.com", len("another.sub.example.com")),
        ("another.sub.example.com/foo/bar/bbq:baz", "*.sub.example.com", len("another.sub.example.com")),
        (f"yet.another.example.com/foo/bar@{A64}", "*.example.com", len("yet.another.example.com")),
        (f"yet.another.sub.example.com/foo/bar@{A64}", "*.sub.example.com", len("yet.another.sub.example.com")),
    ],
)  # fmt: skip
def test_ref_matching_subdomain_prefix(ref: str, prefix: str, expected: int) -> None:
    assert ref_matching_subdomain_prefix(ref, prefix) == expected


# TestRefMatchingPrefix
@pytest.mark.parametrize(
    ("ref", "prefix", "expected"),
    [
        ("docker.io", "docker.io", len("docker.io")),
        ("docker.io", "example.com", -1),
        ("example.com:5000", "example.com:5000", len("example.com:5000")),
        ("example.com:50000", "example.com:5000", -1),
        ("example.com:5000", "example.com", len("example.com")),  # unintended upstream, kept
        ("example.com/foo", "example.com", len("example.com")),
        ("example.com/foo/bar", "example.com", len("example.com")),
        ("example.com/foo/bar:baz", "example.com", len("example.com")),
        (f"example.com/foo/bar@{A64}", "example.com", len("example.com")),
        ("docker.io", "docker.io/library", -1),
        ("docker.io/library", "docker.io/library", len("docker.io/library")),
        ("example.com/library", "docker.io/library", -1),
        ("docker.io/libraryy", "docker.io/library", -1),
        ("docker.io/library/busybox", "docker.io/library", len("docker.io/library")),
        ("docker.io", "docker.io/library/busybox", -1),
        ("docker.io/library/busybox", "docker.io/library/busybox", len("docker.io/library/busybox")),
        ("example.com/library/busybox", "docker.io/library/busybox", -1),
        ("docker.io/library/busybox2", "docker.io/library/busybox", -1),
        ("example.com", "example.com/foo:bar", -1),
        ("example.com/foo", "example.com/foo:bar", -1),
        ("example.com/foo:bar", "example.com/foo:bar", len("example.com/foo:bar")),
        ("example.com/foo:bar2", "example.com/foo:bar", -1),
        ("example.com", f"example.com/foo@{A64}", -1),
        ("example.com/foo", f"example.com/foo@{A64}", -1),
        (f"example.com/foo@{A64}", f"example.com/foo@{A64}", len(f"example.com/foo@{A64}")),
        (f"example.com/foo@{B64}", f"example.com/foo@{A64}", -1),
        ("example.com/foo", "*", -1),
    ],
)  # fmt: skip
def test_ref_matching_prefix(ref: str, prefix: str, expected: int) -> None:
    assert ref_matching_prefix(ref, prefix) == expected


# TestNewConfigWrapper (without RootForImplicitAbsolutePaths, which skopeo's CLI cannot set)
@pytest.mark.parametrize(
    ("conf", "user_file", "expected"),
    [
        (None, False, str(SYSTEM_FILE)),
        ("/this/is/not/the/default/registries.conf", False, "/this/is/not/the/default/registries.conf"),
        (None, True, "USER"),
        ("/this/is/not/the/default/registries.conf", True, "/this/is/not/the/default/registries.conf"),
        ("$HOME", False, "$HOME"),  # no environment expansion in a given path
    ],
)  # fmt: skip
def test_new_config_wrapper(
    tmp_path: Path, conf: str | None, user_file: bool, expected: str
) -> None:
    user = tmp_path / ".config" / "containers" / "registries.conf"
    if user_file:
        user.parent.mkdir(parents=True)
        user.write_text("")
    paths = Paths.choose(conf, None, tmp_path)
    assert str(paths.main) == (str(user) if expected == "USER" else expected)
    assert paths.explicit == (conf is not None)
    if user_file and conf is None:  # the user's file comes with the user's folder only
        assert paths.dirs == (tmp_path / ".config" / "containers" / "registries.conf.d",)
    else:
        assert paths.dirs[0] == Path("/etc/containers/registries.conf.d")


# TestFindRegistry
@pytest.mark.parametrize(
    ("name", "prefix", "location"),
    [
        ("simple-prefix.com/foo/bar:latest", "simple-prefix.com", "registry.com:5000"),
        ("simple-prefix.com/", "simple-prefix.com", "registry.com:5000"),
        ("simple-prefix.com", "simple-prefix.com", "registry.com:5000"),
        ("not.so.simple-prefix.com/", "*.so.simple-prefix.com", "subdomain-prefix.com"),
        ("not.quite.simple-prefix.com/", "*.simple-prefix.com", "subdomain-prefix-2.com"),
        ("not.quite.simple-prefix.com:5000/with/path/and/beyond:tag", "*.simple-prefix.com", "subdomain-prefix-2.com"),
        ("really.not.quite.simple-prefix.com:5000/with/path/and/beyond:tag", "*.not.quite.simple-prefix.com", "subdomain-prefix-1-overridden-by-dropin-location.com"),
        ("foo.docker.io:5000/omg/wtf/bbq:foo", "*.docker.io", "subdomain-prefix-2.com"),
        (f"foo.bar.example.com:6000/omg/wtf/bbq@{A64}", "*.bar.example.com", "subdomain-prefix-3-overridden-by-dropin-location.com"),
        ("foo.bar.docker.io:5000/omg/wtf/bbq:foo", "*.bar.docker.io", "subdomain-prefix-4.com"),
        ("foo.bar.example.com:5000/omg/wtf/bbq:foo", "foo.bar.example.com:5000", "subdomain-prefix-5.com"),
        ("simple-prefix.comx", None, None),
        ("complex-prefix.com:4000/with/path/and/beyond:tag", "complex-prefix.com:4000/with/path", "another-registry.com:5000"),
        ("no-prefix.com/foo:tag", "no-prefix.com", "no-prefix.com"),
        ("empty-prefix.com/foo:tag", "empty-prefix.com", "empty-prefix.com"),
    ],
)  # fmt: skip
def test_find_registry(name: str, prefix: str | None, location: str | None) -> None:
    conf = load("find-registry.conf", DATA / "registries.conf.d")
    assert len(conf.config.registries) == 19
    found = conf.find(name)
    assert (found.prefix, found.location) == (prefix, location) if found else prefix is None


def test_find_registry_with_a_missing_explicit_file_is_an_error() -> None:
    with pytest.raises(RegistriesConfError, match="no such file"):
        load("this-does-not-exist.conf")


# TestFindUnqualifiedSearchRegistries
def test_unqualified_search_registries() -> None:
    conf = load("unqualified-search.conf")
    assert len(conf.config.registries) == 4
    assert conf.config.search == ["registry-a.com", "registry-c.com", "registry-d.com"]
    with pytest.raises(RegistriesConfError, match="Invalid unqualified-search-registries entry"):
        load("invalid-search.conf")


# TestInvalidV2Configs
@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("insecure-conflicts.conf", "registry 'registry.com' is defined multiple times with conflicting 'insecure' setting"),
        ("blocked-conflicts.conf", "registry 'registry.com' is defined multiple times with conflicting 'blocked' setting"),
        ("missing-mirror-location.conf", "invalid condition: mirror location is unset"),
        ("invalid-prefix.conf", "invalid location"),
        ("this-does-not-exist.conf", "no such file"),
    ],
)  # fmt: skip
def test_invalid_v2_configs(path: str, message: str) -> None:
    with pytest.raises(RegistriesConfError, match=message):
        RegistriesConf.load(str(DATA / path))


# TestUnmarshalConfig
def test_unmarshal_config() -> None:
    assert len(load("unmarshal.conf").config.registries) == 4


# TestV1BackwardsCompatibility
def test_v1_backwards_compatibility() -> None:
    conf = load("v1-compatibility.conf")
    assert len(conf.config.registries) == 4
    assert conf.config.search == ["registry-a.com", "registry-c.com", "registry-d.com"]
    reg = conf.find("registry-b.com/bar/foo/barfoo:latest")
    assert reg is not None
    assert reg.insecure
    assert reg.blocked


@pytest.mark.parametrize(
    "path", ["v1-invalid-block.conf", "v1-invalid-insecure.conf", "v1-invalid-search.conf"]
)
def test_v1_invalid(path: str) -> None:
    with pytest.raises(RegistriesConfError):
        load(path)


# TestMixingV1andV2
@pytest.mark.parametrize("path", ["mixing-v1-v2.conf", "mixing-v1-v2-empty.conf"])
def test_mixing_v1_and_v2(path: str) -> None:
    with pytest.raises(RegistriesConfError, match="mixing sysregistry v1/v2 is not supported"):
        load(path)


# TestInvalidateCache (the order of what is read; the cache itself has no counterpart)
def test_registries_are_sorted_by_prefix() -> None:
    assert locations(load("invalidate-cache.conf")) == [
        "blocked.registry.com",
        "insecure.registry.com",
        "registry.com",
        "untrusted.registry.com",
    ]


# TestRewriteReferenceSuccess
@pytest.mark.parametrize(
    ("ref", "prefix", "location", "expected"),
    [
        ("example.com/image", "example.com", "example.com", "example.com/image"),
        ("example.com/image:latest", "example.com", "example.com", "example.com/image:latest"),
        ("example.com:5000/image", "example.com:5000", "example.com:5000", "example.com:5000/image"),
        ("example.com:5000/image:latest", "example.com:5000", "example.com:5000", "example.com:5000/image:latest"),
        (f"example.com/foo@{A64}", "example.com", "example.com", f"example.com/foo@{A64}"),
        ("example.com/foo/image:latest", "example.com/foo", "example.com", "example.com/image:latest"),
        ("example.com/foo/image:latest", "example.com/foo", "example.com/path", "example.com/path/image:latest"),
        ("docker.io/library/image:latest", "docker.io", "docker.io", "docker.io/library/image:latest"),
        ("docker.io/library/image", "docker.io/library", "example.com", "example.com/image"),
        ("docker.io/library/image", "docker.io", "example.com", "example.com/library/image"),
        ("docker.io/library/prefix/image", "docker.io/library/prefix", "example.com", "example.com/image"),
        ("docker.io/namespace/image", "*.io", "example.com", "example.com/namespace/image"),
        ("docker.io/library/prefix/image", "*.io", "example.com", "example.com/library/prefix/image"),
        ("sub.example.io/library/prefix/image", "*.example.io", "example.com", "example.com/library/prefix/image"),
        ("another.sub.example.io:5000/library/prefix/image:latest", "*.sub.example.io", "example.com", "example.com:5000/library/prefix/image:latest"),
        ("foo.bar.io/ns1/ns2/ns3/ns4", "*.bar.io", "omg.bbq.com/roflmao", "omg.bbq.com/roflmao/ns1/ns2/ns3/ns4"),
        ("abc.internal.registry.com/foo:bar", "*.internal.registry.com", "", "abc.internal.registry.com/foo:bar"),
        ("blah.foo.bar.com/omg:bbq", "*.com", "", "blah.foo.bar.com/omg:bbq"),
        ("alien.vs.predator.foobar.io:5000/omg", "*.foobar.io", "", "alien.vs.predator.foobar.io:5000/omg"),
        (f"alien.vs.predator.foobar.io:5000/foo@{A64}", "*.foobar.io", "", f"alien.vs.predator.foobar.io:5000/foo@{A64}"),
        ("alien.vs.predator.foobar.io:5000/omg:bbq", "*.foobar.io", "", "alien.vs.predator.foobar.io:5000/omg:bbq"),
    ],
)  # fmt: skip
def test_rewrite_reference_success(ref: str, prefix: str, location: str, expected: str) -> None:
    assert str(rewrite_reference(parse_named(ref), prefix, location)) == expected


# TestRewriteReferenceFailedDuringParseNamed
@pytest.mark.parametrize(
    ("ref", "prefix", "location"),
    [
        ("example.com/foo/image:latest", "example.com/foo", "example.com/path/"),
        (f"example.com/foo@{A64}", "example.com/foo", "example.com"),
        ("example.com:5000/image:latest", "example.com", ""),
        ("example.com:5000/image:latest", "example.com", "example.com:5000"),
        ("example.com/foo/image:latest", "example.com//foo", "example.com/path"),
        ("example.com/image:latest", "image", "anotherimage"),
        ("example.com/foo/image:latest", "example.com/foo/", "example.com"),
        ("example.com/foo/image", "example.com/f", "example.com/foo"),
        ("example.com/foo:latest", "example.com/f", "example.com/foo"),
        (f"example.com/foo@{A64}", "example.com/f", "example.com/foo"),
        ("docker.io/library/image", "example.com", "example.com"),
        ("docker.io/library/image", "*.com", "example.com"),
        ("foo.docker.io/library/image", "*.example.com", "example.com/image"),
        ("foo.docker.io/library/image", "*.docker.com", "example.com/image"),
    ],
)  # fmt: skip
def test_rewrite_reference_failed(ref: str, prefix: str, location: str) -> None:
    with pytest.raises(RegistriesConfError):
        rewrite_reference(parse_named(ref), prefix, location)


# TestPullSourcesFromReference: (prefix, digest locations, digest insecure, tag ..., tag ...)
PULL_SOURCES = [
    ("registry-a.com/foo", ["mirror-1.registry-a.com", "mirror-2.registry-a.com", "registry-a.com/bar"], [False, True, False],
     ["mirror-1.registry-a.com", "mirror-2.registry-a.com", "registry-a.com/bar"], [False, True, False]),
    ("registry-b.com/foo", ["mirror-1.registry-b.com", "mirror-2.registry-b.com", "registry-b.com/bar"], [False, False, False],
     ["registry-b.com/bar"], [False]),
    ("registry-a.com/baz", ["mirror-1.registry-a.com", "mirror-2.registry-a.com", "registry-a.com/bar"], [False, True, False],
     ["mirror-1.registry-a.com", "mirror-2.registry-a.com", "registry-a.com/bar"], [False, True, False]),
    ("registry-b.com/baz", ["mirror-1.registry-b.com", "mirror-2.registry-b.com", "registry-b.com/bar"], [False, False, False],
     ["registry-b.com/bar"], [False]),
    ("registry-c.com/baz", ["mirror-1.registry-c.com", "mirror-2.registry-c.com", "registry-c.com/bar"], [False, False, False],
     ["mirror-1.registry-c.com", "registry-c.com/bar"], [False, False]),
    ("registry-d.com/baz", ["mirror-1.registry-d.com", "mirror-2.registry-d.com", "registry-d.com/bar"], [False, False, False],
     ["registry-d.com/bar"], [False]),
    ("registry-e.com/baz", ["registry-e.com/bar"], [False],
     ["mirror-1.registry-e.com", "mirror-2.registry-e.com", "registry-e.com/bar"], [False, False, False]),
    ("registry-f.com/baz", ["mirror-1.registry-f.com", "registry-f.com/bar"], [False, False],
     ["mirror-1.registry-f.com", "mirror-2.registry-f.com", "registry-f.com/bar"], [False, False, False]),
    ("registry-g.com/baz",
     ["mirror-1.registry-g.com", "mirror-3.registry-g.com", "mirror-4.registry-g.com", "registry-g.com/bar"], [False] * 4,
     ["mirror-2.registry-g.com", "mirror-3.registry-g.com", "mirror-4.registry-g.com", "registry-g.com/bar"], [False] * 4),
]  # fmt: skip


@pytest.mark.parametrize(("prefix", "d_locs", "d_insecure", "t_locs", "t_insecure"), PULL_SOURCES)
def test_pull_sources_from_reference(
    prefix: str,
    d_locs: list[str],
    d_insecure: list[bool],
    t_locs: list[str],
    t_insecure: list[bool],
) -> None:
    conf = load("pull-sources-from-reference.conf")
    assert len(conf.config.registries) == 9
    for suffix, locs, insecure in ((f"@{A64}", d_locs, d_insecure), (":aaa", t_locs, t_insecure)):
        endpoints = conf.endpoints(parse_named(f"{prefix}/image{suffix}"))
        assert [str(e.reference) for e in endpoints] == [f"{loc}/image{suffix}" for loc in locs]
        assert [e.insecure for e in endpoints] == insecure


# TestInvalidMirrorConfig
@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("invalid-config-level-mirror.conf", 'pull-from-mirror must not be set for a non-mirror registry "registry-a.com/foo"'),
        ("invalid-conflict-mirror.conf", 'cannot set mirror usage mirror-by-digest-only for the registry ("registry-a.com/foo") and pull-from-mirror for per-mirror ("mirror-1.registry-a.com") at the same time'),
        ("invalid-value-mirror.conf", 'unsupported pull-from-mirror value "notvalid" for mirror "mirror-1.registry-a.com"'),
    ],
)  # fmt: skip
def test_invalid_mirror_config(path: str, message: str) -> None:
    with pytest.raises(RegistriesConfError) as raised:
        load(path)
    assert message in str(raised.value)


# TestTryUpdatingCache (valid and invalid files)
def test_try_updating_cache() -> None:
    assert len(load("try-update-cache-valid.conf").config.registries) == 1
    with pytest.raises(RegistriesConfError):
        load("try-update-cache-invalid.conf")


# TestRegistriesConfDirectory
def test_registries_conf_directory() -> None:
    conf = load("base-for-registries.d.conf", DATA / "registries.conf.d")
    assert conf.config.search == ["example-overwrite.com"]
    assert locations(conf) == [
        "subdomain-prefix-3-overridden-by-dropin-location.com",
        "subdomain-prefix-2-overridden-by-dropin-location.com",
        "subdomain-prefix-1-overridden-by-dropin-location.com",
        "1.com",
        "2.com",
        "base.com",
    ]
    base = conf.find("base.com/test:latest")
    assert base is not None
    assert base.blocked
    assert conf.config.files[-1].endswith("subdomain-override-3.conf")
    # unqualified-search-registries: kept when no drop-in sets it, replaced by an empty list
    assert load("unqualified-search.conf", DATA / "registries.conf.d-usr1").config.search == [
        "registry-a.com",
        "registry-c.com",
        "registry-d.com",
    ]
    assert load("unqualified-search.conf", DATA / "registries.conf.d-usr2").config.search == []


def test_a_v1_dropin_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old.conf").write_text((DATA / "v1-compatibility.conf").read_text())
    with pytest.raises(RegistriesConfError, match="registry must be in v2 format but is in v1"):
        RegistriesConf.load(str(DATA / "empty.conf"), str(tmp_path))


# TestGetShortNameMode
@pytest.mark.parametrize(
    ("path", "mode"),
    [
        ("aliases.conf", "enforcing"),
        ("registries.conf.d/config-2.conf", "permissive"),
        ("registries.conf.d/config-3.conf", ""),  # unset: containers/image's default applies
    ],
)
def test_short_name_mode(path: str, mode: str) -> None:
    assert load(path).config.short_name_mode == mode


def test_invalid_short_name_mode() -> None:
    with pytest.raises(RegistriesConfError, match='invalid short-name mode: "invalid"'):
        load("invalid-short-name-mode.conf")


# TestCredentialHelpers
@pytest.mark.parametrize(
    ("path", "folder", "helpers"),
    [
        ("cred-helper.conf", NOWHERE, ["helper-1", "helper-2"]),
        ("empty.conf", NOWHERE, ["containers-auth.json"]),
        ("cred-helper.conf", DATA / "registries.conf.d-empty-helpers", ["containers-auth.json"]),
        ("cred-helper.conf", DATA / "registries.conf.d", ["dropin-1", "dropin-2"]),
    ],
)
def test_credential_helpers(path: str, folder: Path, helpers: list[str]) -> None:
    assert load(path, folder).config.helpers == helpers


# shortnames_test.go: TestParseShortNameValue, TestValidateShortName, aliases files
@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("docker.io/library/fedora", True), ("localhost/fedora", True),
        ("localhost:5000/fedora", True), ("localhost:5000/namespace/fedora", True),
        ("docker.io/library/fedora:latest", False),
        ("docker.io/library/fedora@sha256:b87dd5f837112a9e1e9882963a6406387597698268c0ad371b187151a5dfe6bf", False),
        ("fedora", False), ("fedora:latest", False), ("library/fedora", False),
        ("library/fedora:latest", False), ("$$4455%%", False), ("docker://foo", False),
        ("docker-archive://foo", False), ("", False),
    ],
)  # fmt: skip
def test_parse_short_name_value(value: str, valid: bool) -> None:
    assert (alias_value_problem(value) is None) == valid


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("library/fedora", True), ("fedora", True), ("1234567489", True),
        ("docker.io/library/fedora:latest", False),
        ("docker.io/library/fedora@sha256:b87dd5f837112a9e1e9882963a6406387597698268c0ad371b187151a5dfe6bf", False),
        ("fedora:latest", False), ("library/fedora:latest", False), ("$$4455%%", False),
        ("docker://foo", False), ("docker-archive://foo", False), ("", False),
    ],
)  # fmt: skip
def test_validate_short_name(name: str, valid: bool) -> None:
    assert (short_name_problem(name) is None) == valid


def test_alias_files() -> None:
    assert len(load("aliases.conf").config.aliases) == 4
    with pytest.raises(RegistriesConfError, match="validating short-name aliases"):
        load("invalid-aliases.conf")
    merged = load("base-for-registries.d.conf", DATA / "registries.conf.d").config.aliases
    assert merged["barz"] == "barz.com/config2"  # a later drop-in replaces an alias
    assert "ignore" not in merged  # only *.conf files are drop-ins

from pathlib import Path

import pytest

from syncer.config import load_config
from syncer.errors import UsageError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(tmp_path, {}, {})
    assert config.list == "source-images.list"
    assert config.report == "MAPPING.md"
    assert config.concurrency == 8
    assert config.destination is None


def test_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    (tmp_path / "syncer.yaml").write_text(
        "destination: a.example.com/m\nconcurrency: 2\nretry_times: 1\n"
        "insecure_registries: [r1.local:5000]\n"
    )
    env = {"SYNCER_CONCURRENCY": "3", "SYNCER_DESTINATION": "b.example.com/m"}
    config = load_config(tmp_path, env, {"destination": "c.example.com/m", "concurrency": None})
    assert config.destination == "c.example.com/m"
    assert config.concurrency == 3
    assert config.retry_times == 1
    assert config.insecure_registries == ("r1.local:5000",)
    # Host names match whatever their case, where skopeo's flags are decided.
    from syncer.copy.skopeo import SkopeoOptions
    from syncer.imagelist.reference import Reference

    assert SkopeoOptions.from_config(config).is_insecure(Reference("R1.local:5000", "x"))


def test_environment_list_is_comma_separated(tmp_path: Path) -> None:
    config = load_config(tmp_path, {"SYNCER_INSECURE_REGISTRIES": "a:1, b:2"}, {})
    assert config.insecure_registries == ("a:1", "b:2")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("colour: blue\n", "unknown key 'colour'"),
        ("concurrency: many\n", "concurrency must be a whole number"),
        ("destination: 'Not A Host'\n", "destination"),
        ("destination: [unclosed\n", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_bad_file_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "syncer.yaml").write_text(content)
    with pytest.raises(UsageError, match=message) as info:
        load_config(tmp_path, {}, {})
    assert "\n" not in str(info.value)


def test_missing_destination_names_every_way_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="SYNCER_DESTINATION"):
        load_config(tmp_path, {}, {}).require_destination()

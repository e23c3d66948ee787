"""Which registries.conf files are read, in containers/image's order, and their merge.

`registries_conf` (skopeo's `--registries-conf`), or else the user's
`~/.config/containers/registries.conf` when it exists, or else the system file
`/etc/containers/registries.conf`; then every `*.conf` drop-in of `registries_conf_dir`
(default: the system directory and the user's, as skopeo reads them) in name order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from syncer.containers.registries_conf import Parsed, RegistriesConfError, parse_config

SYSTEM_FILE = Path("/etc/containers/registries.conf")
SYSTEM_DIR = Path("/etc/containers/registries.conf.d")
USER_FILE = Path(".config/containers/registries.conf")  # under the home directory
USER_DIR = Path(".config/containers/registries.conf.d")


@dataclass(frozen=True)
class Paths:
    """Which files are read: containers/image's choice of main file and drop-in folders."""

    main: Path
    explicit: bool  # set by the user: a missing file is an error
    dirs: tuple[Path, ...]

    @classmethod
    def choose(cls, conf: str | None, conf_dir: str | None, home: Path) -> Paths:
        user_file, user_dir = home / USER_FILE, home / USER_DIR
        if conf:
            main, explicit = Path(conf), True
        elif user_file.exists():  # the user's file replaces the system's, and its folder
            return cls(user_file, False, (Path(conf_dir),) if conf_dir else (user_dir,))
        else:
            main, explicit = SYSTEM_FILE, False
        return cls(main, explicit, (Path(conf_dir),) if conf_dir else (SYSTEM_DIR, user_dir))

    def dropins(self) -> list[Path]:
        found: list[Path] = []
        for folder in self.dirs:
            try:
                found += sorted(p for p in folder.iterdir() if p.name.endswith(".conf"))
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise RegistriesConfError(f"{folder}: reading registries.conf.d: {exc}") from None
        return [p for p in found if not p.is_dir()]


def _read(path: Path, *, dropin: bool) -> Parsed | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistriesConfError(f"{path}: cannot be read: {exc}") from None
    try:
        return parse_config(text, str(path), dropin=dropin)
    except RegistriesConfError as exc:
        raise RegistriesConfError(f"{path}: {exc}") from None


def load_config(paths: Paths) -> Parsed:
    """The merged configuration of the main file and the drop-ins, as skopeo reads them."""
    config = _read(paths.main, dropin=False)
    if config is None:
        if paths.explicit:
            raise RegistriesConfError(f"registries_conf {paths.main}: no such file")
        config = Parsed()
    for path in paths.dropins():
        dropin = _read(path, dropin=True)
        if dropin is not None:  # removed meanwhile: containers/image ignores that too
            config.update_from(dropin)
    return config

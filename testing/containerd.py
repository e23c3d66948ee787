"""A real containerd (Debian's package) with its own root, state and socket in a temp dir."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest


class Containerd:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.socket = workdir / "containerd.sock"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> Containerd:
        if os.geteuid() != 0:
            pytest.skip("containerd runs as root here; the test needs root")
        if shutil.which("containerd") is None or shutil.which("ctr") is None:
            pytest.skip("containerd is not installed (ci/setup.sh installs it)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.toml"
        config.write_text(
            "version = 2\n"
            f'root = "{self.workdir / "root"}"\n'
            f'state = "{self.workdir / "state"}"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            "[grpc]\n"
            f'  address = "{self.socket}"\n'
            "[ttrpc]\n"
            f'  address = "{self.socket}.ttrpc"\n'
        )
        with (self.workdir / "containerd.log").open("wb") as log:
            self.process = subprocess.Popen(
                ["containerd", "--config", str(config)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                text = (self.workdir / "containerd.log").read_text(errors="replace")[-1500:]
                pytest.skip(f"containerd could not start here: {text}")
            if self.socket.exists() and self.ctr("version").returncode == 0:
                return self
            time.sleep(0.2)
        self.stop()
        pytest.skip(f"containerd did not answer within {timeout}s")

    def ctr(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ctr", "--address", str(self.socket), *args],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def image_digest(self, name: str) -> str | None:
        listed = self.ctr("images", "ls")
        for line in listed.stdout.splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == name:
                return fields[2]
        return None

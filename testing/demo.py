"""The main job, offline: local registries stand in for Docker Hub, quay.io, k8s.gcr.io...

1. start an "upstream" and a "destination" registry on loopback;
2. fill upstream with a two-platform image for every line of the bundled source-images.list,
   under its real name (a registries.conf mirrors docker.io, quay.io, ... to upstream);
3. make a scratch git remote and clone holding the bundled list and a syncer.yaml;
4. run `syncer run` in the clone, as CI would on a push, and show the report it committed;
5. stop the registries. The scratch folder stays for you to look at.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from syncer.imagelist.parse import parse_list
from testing.gitrepo import IDENTITY, Remote, git
from testing.images import make_upstream_image
from testing.mirrors import write_registries_conf
from testing.registry import Registry

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", type=Path, default=ROOT / "source-images.list")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temp dir)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="syncer-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    list_text = args.list.read_text()
    images = parse_list(list_text, str(args.list))

    with Registry(work / "upstream") as upstream, Registry(work / "destination") as destination:
        print(f"upstream registry on {upstream.host}, destination on {destination.host}")
        for entry in images.entries:
            make_upstream_image(work / "oci", upstream.host, entry.key)
        print(f"upstream holds {len(images.entries)} two-platform images under their real names")
        conf = write_registries_conf(work / "registries.conf", upstream.host, destination.host)
        os.environ.update(IDENTITY)
        remote = Remote(
            work,
            {
                "syncer.yaml": f"destination: {destination.host}/third\n"
                f"registries_conf: {conf}\n"
                f"insecure_registries: [{destination.host}]\n"
            },
        )
        remote.commit({"source-images.list": list_text}, "Add the image list")
        clone = work / "clone"
        git(work, "clone", "--quiet", remote.url, str(clone))
        print(f"$ syncer run   (in {clone})", flush=True)
        code = subprocess.call([sys.executable, "-m", "syncer", "run"], cwd=clone)
        print()
        print((clone / "MAPPING.md").read_text())
        print(f"the report above is committed in {clone} and pushed to {remote.bare}")
    print("registries stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())

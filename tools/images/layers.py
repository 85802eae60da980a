"""What an image weighs, layer by layer: `python3 layers.py IMAGE.tar` reads a docker-archive (as
tools/images/build.sh writes them) and prints its names (RepoTags) and each layer's size with the
instruction that made it, then the total."""

from __future__ import annotations

import json
import sys
import tarfile


def _mb(size: int) -> str:
    return f"{size / 1e6:7.1f} MB"


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        sys.exit("usage: layers.py IMAGE.tar")
    with tarfile.open(argv[0]) as archive:
        sizes = {member.name: member.size for member in archive.getmembers() if member.isfile()}
        manifest_file = archive.extractfile("manifest.json")
        if manifest_file is None:
            sys.exit(f"{argv[0]}: no manifest.json (not a docker-archive)")
        (manifest,) = json.load(manifest_file)
        config_file = archive.extractfile(manifest["Config"])
        if config_file is None:
            sys.exit(f"{argv[0]}: no image config")
        config = json.load(config_file)
    made_by = [
        step.get("created_by", "") for step in config.get("history", []) if not step.get("empty_layer")
    ]
    if len(made_by) != len(manifest["Layers"]):
        made_by = [""] * len(manifest["Layers"])
    lines = [f"  names: {' '.join(manifest.get('RepoTags') or ['(none)'])}"]
    total = 0
    for layer, how in zip(manifest["Layers"], made_by, strict=True):
        total += sizes[layer]
        what = " ".join(how.replace("/bin/sh -c ", "").split())
        lines.append(f"  {_mb(sizes[layer])}  {what[:90] or '(base)'}")
    lines.append(f"  {_mb(total)}  in all ({len(manifest['Layers'])} layers, uncompressed)")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Build the `licenses` benchmark domain from the licence texts a Debian-family system ships.

    python bench/domains/licenses/build.py DEST

A legal domain that nobody on this project wrote: seven software and documentation licences as the operating system
carries them in /usr/share/common-licenses (Apache 2.0, MPL 2.0, GPL 3, LGPL 3, GFDL 1.3, CC0 1.0, the Artistic
License). The texts are not stored in the repository; this script copies them and checks each file's sha256
against the copy the seeds and labels were written against, so a different text is one line, not a silent drift.

DEST gets DEST/docs/<licence>.txt, DEST/seeds/seeds.jsonl (8 seeds, {question, answer, source}),
DEST/ontology.yaml (3 concepts) and DEST/heldout/heldout.jsonl (50 held-out questions with short answers, for
`tether compare`), so `tether init w --domain DEST` points a workspace at it.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = Path("/usr/share/common-licenses")

# file name -> sha256 of the text the seeds and bench/labels/licenses-* were written against (Debian base-files)
LICENCES = {
    "Apache-2.0": "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
    "MPL-2.0": "fab3dd6bdab226f1c08630b1dd917e11fcb4ec5e1e020e2c16f83a0a13863e85",
    "GPL-3": "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986",
    "LGPL-3": "e3a994d82e644b03a792a930f574002658412f62407f5fee083f2555c5f23118",
    "CC0-1.0": "a2010f343487d3f7618affe54f789f5487602331c0a8d03f49e9a7c547cf0499",
    "Artistic": "b7fd9b73ea99602016a326e0b62e6646060d18febdd065ceca8bb482208c3d88",
    "GFDL-1.3": "110535522396708cea37c72a802c5e7e81391139f5f7985631c93ef242b206a4",
}


def build(dest: Path, source: Path = SOURCE) -> Path:
    """Write the domain into `dest` and return it. SystemExit with one line when a licence file is missing or is
    not the text the seeds were written against."""
    docs = Path(dest) / "docs"
    for name, digest in LICENCES.items():
        path = source / name
        if not path.is_file():
            raise SystemExit(f"licenses: {path} not found (Debian/Ubuntu's base-files package ships it)")
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != digest:
            raise SystemExit(f"licenses: {path} has sha256 {got[:12]}…, not the text the seeds were written against")
    docs.mkdir(parents=True, exist_ok=True)
    for name in LICENCES:
        shutil.copyfile(source / name, docs / f"{name}.txt")
    (Path(dest) / "seeds").mkdir(exist_ok=True)
    shutil.copyfile(HERE / "seeds.jsonl", Path(dest) / "seeds" / "seeds.jsonl")
    shutil.copyfile(HERE / "ontology.yaml", Path(dest) / "ontology.yaml")
    (Path(dest) / "heldout").mkdir(exist_ok=True)
    shutil.copyfile(HERE / "heldout.jsonl", Path(dest) / "heldout" / "heldout.jsonl")
    return Path(dest)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python bench/domains/licenses/build.py DEST", file=sys.stderr)
        return 2
    dest = build(Path(argv[0]))
    print(f"licenses: wrote {len(LICENCES)} licences, seeds.jsonl, ontology.yaml and heldout.jsonl to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

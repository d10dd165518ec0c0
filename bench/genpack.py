"""A large pack for the compile benchmark: the bundled guidelines, copied with renamed ids.

generate(out_dir, n) writes n guideline files and the bundled formulary (the
drug guidelines' services name its classes and ingredients) into out_dir.
Guideline i is bundled guideline i % 20 (sorted by file name) with its id and
title suffixed by copy number i // 20, so every id is unique and the pack
compiles. Deterministic: the same n gives the same bytes.

    python bench/genpack.py 500 /tmp/pack500-src     # then: mtus compile /tmp/pack500-src -o /tmp/pack500
    python bench/genpack.py 2000 /tmp/pack2000-src --own-services   # the bundled pack and 1,975 more
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "guidelines"
_HEADER = re.compile(r'^guideline (\w+) "([^"]*)"', re.M)


def _first_word(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.split()[0]
    return ""


def bundled_sources() -> tuple[list[Path], Path]:
    """(the bundled guideline files, sorted by name; the formulary file)."""
    files = sorted(BUNDLED.glob("*.mtus"))
    kinds = {p: _first_word(p.read_text(encoding="utf-8")) for p in files}
    formularies = [p for p in files if kinds[p] == "formulary"]
    if len(formularies) != 1:
        raise SystemExit(f"expected one formulary file among the bundled sources, found {len(formularies)}")
    return [p for p in files if kinds[p] == "guideline"], formularies[0]


def variant(text: str, copy: int) -> str:
    """The guideline text with its id and title suffixed by the copy number."""
    def rename(m: re.Match) -> str:
        return f'guideline {m.group(1)}_v{copy:03d} "{m.group(2)} (variant {copy})"'

    out, n = _HEADER.subn(rename, text, count=1)
    if n != 1:
        raise ValueError("no guideline header")
    return out


_SERVICES = re.compile(r"^(\s*)services (.*)$", re.M)
_SERVICE = re.compile(r'(?:(cpt|class|ingredient|form) )?("[^"]*"|\d+)')


def distinct(text: str, copy: int) -> str:
    """The variant, covering services of its own: its service names suffixed with the copy number, its CPT codes
    and drug services left out, so that a case routes as with the bundled pack alone (the start-up benchmark)."""
    out = variant(text, copy)

    def services(m: re.Match) -> str:
        names = [f'"{v[1:-1]} v{copy}"' for kind, v in _SERVICE.findall(m.group(2)) if not kind]
        gid = _HEADER.search(out).group(1)
        return f"{m.group(1)}services " + ", ".join(names or [f'"{gid} service"'])

    return _SERVICES.sub(services, out)


def generate(out_dir: str | Path, n: int, own_services: bool = False) -> tuple[int, int]:
    """Write n guidelines and the formulary into out_dir; returns (files, lines).

    With own_services, the first copy is the bundled guidelines themselves and every other covers services of
    its own (distinct()): a large pack in which the seed case routes as in the bundled one.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    guidelines, formulary = bundled_sources()
    texts = [(p.stem, p.read_text(encoding="utf-8")) for p in guidelines]
    lines = 0
    for i in range(n):
        stem, text = texts[i % len(texts)]
        copy = i // len(texts)
        if own_services and copy == 0:
            body, name = text, f"{stem}.mtus"
        else:
            body, name = (distinct if own_services else variant)(text, copy), f"{stem}_v{copy:03d}.mtus"
        (out / name).write_text(body, encoding="utf-8")
        lines += body.count("\n")
    body = formulary.read_text(encoding="utf-8")
    (out / formulary.name).write_text(body, encoding="utf-8")
    return n + 1, lines + body.count("\n")


def source_lines(folder: str | Path) -> int:
    return sum(p.read_text(encoding="utf-8").count("\n") for p in Path(folder).rglob("*.mtus"))


if __name__ == "__main__":
    files, lines = generate(sys.argv[2], int(sys.argv[1]), own_services="--own-services" in sys.argv)
    print(f"wrote {files} files, {lines:,} lines to {sys.argv[2]}")

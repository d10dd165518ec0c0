"""Altering a pack in memory as only its builder could: tests of what the loader refuses, and of what it must
not run even from a pack whose hashes all match (a cache entry someone else wrote)."""

from __future__ import annotations

import json

from mtus.compiler.build.packwriter import joined_parts
from mtus.compiler.check.pack import MANIFEST, PARTS, sha256


def manifest_of(files) -> dict:
    return json.loads(files[MANIFEST])


def with_manifest(files, change) -> dict:
    """The files with the manifest changed by `change(manifest)` (the manifest's own hash is its digest)."""
    files = dict(files)
    m = manifest_of(files)
    change(m)
    files[MANIFEST] = json.dumps(m).encode()
    return files


def rehashed(files, rel, data) -> dict:
    """The files with the whole file `rel` (routing.json, formulary.json, ...) replaced, its sha256 listed."""
    files = dict(files)
    files[rel] = data

    def update(m):
        m["files"][rel] = sha256(data)
    return with_manifest(files, update)


def part(files, rel: str, gid: str) -> bytes:
    """Guideline `gid`'s part of `rel` (checkers.txt or descriptions.jsonl)."""
    m = manifest_of(files)
    i, ends = m["guidelines"].index(gid), m[PARTS[rel]]["ends"]
    return files[rel][ends[i - 1] if i else 0:ends[i]]


def with_part(files, rel: str, gid: str, data: bytes) -> dict:
    """The files with guideline `gid`'s part of `rel` replaced by `data`, every part placed and hashed anew."""
    m = manifest_of(files)
    parts = [data if other == gid else part(files, rel, other) for other in m["guidelines"]]
    joined, places = joined_parts(parts)
    files = dict(files)
    files[rel] = joined
    return with_manifest(files, lambda m: m.__setitem__(PARTS[rel], places))

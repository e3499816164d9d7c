#!/usr/bin/env python3
"""The Kubernetes manifests of docs/deploy.md, read for tests/oci.rs with Debian's PyYAML.

Every ```yaml block of the file is parsed (a block may hold several documents separated by
---); a document without apiVersion, kind and metadata.name is an error, so every block in
the file must be a manifest.
Usage: manifests.py FILE            prints KIND/NAME:PATH=VALUE for every scalar, PATH
                                    being the keys and list indexes joined by '.'
       manifests.py FILE KIND/NAME  prints that one document as YAML (for podman kube play)
Exits non-zero with a message if the file has no manifest, a block does not parse or the
named document is missing."""
import re
import sys

import yaml


def documents(path):
    text = open(path, encoding="utf-8").read()
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, flags=re.M | re.S)
    docs = []
    for block in blocks:
        for doc in yaml.safe_load_all(block):
            if doc is None:
                continue
            name = (doc.get("metadata") or {}).get("name")
            if not (doc.get("apiVersion") and doc.get("kind") and name):
                sys.exit(f"{path}: a yaml block holds a document without apiVersion, kind "
                         f"and metadata.name:\n{yaml.safe_dump(doc)}")
            docs.append((f"{doc['kind']}/{name}", doc))
    if not docs:
        sys.exit(f"{path}: no ```yaml manifest")
    return docs


def flatten(prefix, value, out):
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            flatten(f"{prefix}.{index}", item, out)
    else:
        out.append((prefix, value))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    docs = documents(sys.argv[1])
    if len(sys.argv) == 3:
        for ident, doc in docs:
            if ident == sys.argv[2]:
                sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))
                return
        sys.exit(f"{sys.argv[1]}: no manifest {sys.argv[2]} (have: "
                 f"{', '.join(i for i, _ in docs)})")
    for ident, doc in docs:
        pairs = []
        flatten("", doc, pairs)
        for path, value in pairs:
            if isinstance(value, bool):
                value = "true" if value else "false"
            print(f"{ident}:{path}={value}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Write docs/schemas/*.json (JSON Schemas for editors) from plugins/module_utils/schemas.py.

`make schemas` runs it; tests/unit/.../test_schemas_export.py fails when the files are out of date.
`--check` only compares and exits 1 when a file differs.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for harness

import harness  # noqa: E402  (makes ansible_collections.kibana_gitops.connectors importable)
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import schemas  # noqa: E402

OUT_DIR = os.path.join(harness.ROOT, 'docs', 'schemas')


def render():
    """{file name: text} for the combined spec schema and one per connector type."""
    files = {}
    for type_id in [None] + schemas.known_types():
        text = json.dumps(schemas.spec_schema(type_id), indent=2, sort_keys=True, ensure_ascii=False) + '\n'
        files[schemas.schema_file_name(type_id)] = text
    return files


def main(argv):
    check = '--check' in argv
    wanted = render()
    stale = []
    existing = set(f for f in os.listdir(OUT_DIR) if f.endswith('.schema.json')) if os.path.isdir(OUT_DIR) else set()
    for name, text in sorted(wanted.items()):
        path = os.path.join(OUT_DIR, name)
        current = None
        if os.path.exists(path):
            with open(path, encoding='utf-8') as f:
                current = f.read()
        if current != text:
            stale.append(name)
            if not check:
                os.makedirs(OUT_DIR, exist_ok=True)
                with open(path, 'w', encoding='utf-8') as f:
                    f.write(text)
    extra = sorted(existing - set(wanted))
    if not check:
        for name in extra:
            os.unlink(os.path.join(OUT_DIR, name))
    if check and (stale or extra):
        print('out of date: %s; run make schemas' % ', '.join(stale + extra))
        return 1
    what = 'out of date' if check else 'rewritten or removed'
    print('%d schema files in %s, %d %s' % (len(wanted), os.path.relpath(OUT_DIR), len(stale) + len(extra), what))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python
"""Benchmark (not a test): validate N generated spec files offline and print files/s.

The files are copies of tests/data/valid_specs/ (every type) with fresh ids and names, one spec per
file, plus a few mistakes so error reporting is exercised too. Two measurements:
* in-process: spec_files.load_spec_paths + spec.validate_specs, as the connector_spec module runs them;
* module: one real ansible-playbook task of kibana_gitops.connectors.connector_spec over the directory
  (includes Ansible's own start-up), unless --no-module.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for harness

import harness  # noqa: E402
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec, spec_files  # noqa: E402


def generate(directory, count, bad_every):
    templates, _sources, errors = spec_files.load_spec_paths([os.path.join(harness.ROOT, 'tests', 'data', 'valid_specs')])
    assert not errors, errors
    for i in range(count):
        s = dict(templates[i % len(templates)])
        s['connector_id'] = 'bench-%05d' % i
        s['name'] = 'Bench connector %05d' % i
        if bad_every and i % bad_every == bad_every - 1:
            s['config'] = dict(s.get('config') or {}, unknownField=True)  # one mistake per bad file
        with open(os.path.join(directory, '%05d.yml' % i), 'w') as f:
            # BaseLoader-safe text: the cases-webhook {{{mustache}}} stays a plain string
            yaml.safe_dump(s, f, default_flow_style=False, sort_keys=False)


def in_process(directory):
    start = time.perf_counter()
    specs, sources, load_errors = spec_files.load_spec_paths([directory])
    report = spec.validate_specs(specs, sources)
    elapsed = time.perf_counter() - start
    return len(specs), len(load_errors) + len(report.errors), elapsed


def via_module(directory):
    playbook = os.path.join(directory, '..', 'bench.yml')
    with open(playbook, 'w') as f:
        f.write('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                '    - kibana_gitops.connectors.connector_spec:\n        paths: [%s]\n        fail_on_error: false\n'
                '      register: r\n    - ansible.builtin.debug:\n        msg: "{{ r.errors | length }} errors"\n'
                % directory)
    start = time.perf_counter()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook],
                          env=harness.ansible_env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
    return proc.returncode, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--files', type=int, default=1000)
    parser.add_argument('--bad-every', type=int, default=10, help='every Nth file has one mistake (0: none)')
    parser.add_argument('--repeat', type=int, default=3, help='in-process runs; the best is reported')
    parser.add_argument('--no-module', action='store_true')
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='kgc-bench-')
    try:
        directory = os.path.join(work, 'specs')
        os.mkdir(directory)
        generate(directory, args.files, args.bad_every)
        runs = [in_process(directory) for _run in range(max(1, args.repeat))]
        files, errors, best = min(runs, key=lambda r: r[2])
        print('in-process: %d files, %d errors found, %.3f s, %.0f files/s (best of %d)'
              % (files, errors, best, files / best, len(runs)))
        if not args.no_module:
            rc, elapsed = via_module(directory)
            print('connector_spec module via ansible-playbook: %d files, %.3f s, %.0f files/s (rc %d, incl. start-up)'
                  % (files, elapsed, files / elapsed, rc))
    finally:
        shutil.rmtree(work, True)


if __name__ == '__main__':
    main()

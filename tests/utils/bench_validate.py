#!/usr/bin/env python
"""Benchmark (not a test): validate N generated spec files offline and print the figures against the target.

The files are copies of tests/data/valid_specs/ (every type) with fresh ids and names, one spec per
file, plus a few mistakes so error reporting is exercised too. Measurements:
* in-process: spec_files.load_spec_paths + spec.validate_specs, as the connector_spec module runs them;
* playbook: `ansible-playbook kibana_gitops.connectors.validate -e spec_paths=DIR` as a pull-request check
  runs it (Ansible's own start-up included), on the set with mistakes (exits 2, every mistake listed) and on
  an all-valid set (exits 0); the target (issue 13) is <= 3 s for 1,000 files on the 2-core machine;
* the fixed cost: the same playbook on a folder with one file, so the figure beyond start-up shows too.
The load average is printed with the figures: on a busy machine they mean little.
"""
import argparse
import os
import resource
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


def via_playbook(directory):
    """(rc, wall seconds, CPU seconds) of ansible-playbook kibana_gitops.connectors.validate over the directory.
    The CPU time (user + system of the playbook and its children) depends far less on what else runs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                           '%s.validate' % harness.FQCN, '-e', 'spec_paths=%s' % directory],
                          env=harness.ansible_env(), capture_output=True, text=True, check=False, cwd=directory)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 2):
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
    return proc.returncode, elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def load_average():
    try:
        return '%.2f %.2f %.2f' % os.getloadavg()
    except OSError:
        return '?'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--files', type=int, default=1000)
    parser.add_argument('--bad-every', type=int, default=10, help='every Nth file has one mistake (0: none)')
    parser.add_argument('--repeat', type=int, default=3, help='runs of each measurement; the best is reported')
    parser.add_argument('--target', type=float, default=3.0, help='seconds for the playbook over --files files')
    parser.add_argument('--no-module', action='store_true', help='in-process only')
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='kgc-bench-')
    try:
        sets = {}
        for label, bad_every in (('with mistakes', args.bad_every), ('all valid', 0), ('one file', 0)):
            sets[label] = os.path.join(work, label.replace(' ', '-'))
            os.mkdir(sets[label])
            generate(sets[label], 1 if label == 'one file' else args.files, bad_every)
        print('load average before: %s (2 cores)' % load_average())
        runs = [in_process(sets['with mistakes']) for _run in range(max(1, args.repeat))]
        files, errors, best = min(runs, key=lambda r: r[2])
        print('in-process:    %5d files, %3d errors found, %.3f s, %.0f files/s (best of %d)'
              % (files, errors, best, files / best, len(runs)))
        if args.no_module:
            return
        timings = {}
        for label, directory in sets.items():
            results = [via_playbook(directory) for _run in range(max(1, args.repeat))]
            rc, elapsed, cpu = min(results, key=lambda r: r[1])
            timings[label] = elapsed
            count = 1 if label == 'one file' else args.files
            print('playbook:      %5d files (%s), %.3f s (CPU %.2f s), best of %d (%s), rc %d'
                  % (count, label, elapsed, cpu, len(results), ', '.join('%.2f' % r[1] for r in results), rc))
        worst = max(timings['with mistakes'], timings['all valid'])
        print('target: %d files through ansible-playbook %s.validate in <= %.1f s: %.2f s, %s '
              '(start-up and one file: %.2f s, so %.2f s for the files)'
              % (args.files, harness.FQCN, args.target, worst, 'MET' if worst <= args.target else 'NOT MET',
                 timings['one file'], worst - timings['one file']))
        print('load average after: %s' % load_average())
    finally:
        shutil.rmtree(work, True)


if __name__ == '__main__':
    main()

"""`make bench`: the connectors module against the way users apply connectors today, at N connectors.

Not a test: it prints a table. One Kibana simulator, one space, N connectors (default 500) of
four types. Three runs each - first apply (empty Kibana), no-op apply, one-change apply - with

* the `connectors` module: one task, the whole set;
* a baseline playbook written the way it is done without this collection: `ansible.builtin.uri`
  GETs each connector, then POSTs the missing ones and PUTs the ones whose fields differ.

Wall time is the whole ansible-playbook process; HTTP requests are the simulator's /_sim/stats.
Each run is also checked (connectors present, nothing written on a no-op), so a fast wrong answer
cannot pass for a fast right one.

    python tests/bench/bench.py [--n 500] [--out bench-output/bench.md]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

API_KEY = 'bench-api-key'
LLM_KEY = 'CANARY-bench-llm-key-4e1d'

MODULE_PLAY = """
- name: Apply the set with the connectors module
  hosts: localhost
  gather_facts: false
  vars_files: ["{{ specs_file }}"]
  tasks:
    - name: All connectors of the space in one task
      kibana_gitops.connectors.connectors:
        kibana_url: "{{ kibana_url }}"
        api_key: "{{ api_key }}"
        specs: "{{ specs }}"
"""

# What a careful user writes today: idempotent (compares the fields it sets, so Kibana's server-side
# defaults do not cause an update every run), with the secrets sent on create and update.
BASELINE_PLAY = """
- name: Apply the set with ansible.builtin.uri
  hosts: localhost
  gather_facts: false
  vars_files: ["{{ specs_file }}"]
  vars:
    headers:
      Authorization: "ApiKey {{ api_key }}"
      kbn-xsrf: "true"
  tasks:
    - name: Read each connector
      ansible.builtin.uri:
        url: "{{ kibana_url }}/api/actions/connector/{{ item.connector_id }}"
        headers: "{{ headers }}"
        status_code: [200, 404]
      loop: "{{ specs }}"
      loop_control:
        label: "{{ item.connector_id }}"
      register: current

    - name: Create the missing ones
      ansible.builtin.uri:
        url: "{{ kibana_url }}/api/actions/connector/{{ item.item.connector_id }}"
        method: POST
        headers: "{{ headers }}"
        body_format: json
        body:
          name: "{{ item.item.name }}"
          connector_type_id: "{{ item.item.connector_type_id }}"
          config: "{{ item.item.config | default({}) }}"
          secrets: "{{ item.item.secrets | default({}) }}"
      loop: "{{ current.results | selectattr('status', 'equalto', 404) | list }}"
      loop_control:
        label: "{{ item.item.connector_id }}"

    - name: Update the ones that differ
      ansible.builtin.uri:
        url: "{{ kibana_url }}/api/actions/connector/{{ item.item.connector_id }}"
        method: PUT
        headers: "{{ headers }}"
        body_format: json
        body:
          name: "{{ item.item.name }}"
          config: "{{ item.item.config | default({}) }}"
          secrets: "{{ item.item.secrets | default({}) }}"
      loop: "{{ current.results | selectattr('status', 'equalto', 200) | list }}"
      loop_control:
        label: "{{ item.item.connector_id }}"
      when: >-
        item.json.name != item.item.name
        or (item.json.config | combine(item.item.config | default({}))) != item.json.config
"""


def make_specs(n):
    specs = []
    for i in range(n):
        spec = {'connector_id': 'bench-%04d' % i, 'name': 'Bench connector %04d' % i}
        kind = i % 4
        if kind == 0:
            spec.update(connector_type_id='.index', config={'index': 'bench-%04d' % i})
        elif kind == 1:
            spec.update(connector_type_id='.webhook',
                        config={'url': 'https://hooks.example.com/%04d' % i, 'hasAuth': False})
        elif kind == 2:
            spec.update(connector_type_id='.server-log', config={})
        else:
            spec.update(connector_type_id='.gen-ai', secrets={'apiKey': LLM_KEY},
                        config={'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions',
                                'defaultModel': 'llama3.1'})
        specs.append(spec)
    return specs


def one_change(specs):
    changed = [dict(s) for s in specs]
    changed[0] = dict(changed[0], config={'index': 'bench-0000-v2'})
    return changed


def run(sim, play, specs, workdir):
    specs_file = os.path.join(workdir, 'specs.json')
    with open(specs_file, 'w') as f:
        json.dump({'specs': specs}, f)
    sim.reset_stats()
    start = time.monotonic()
    result = harness.run_playbook(play, extra_vars={'specs_file': specs_file, 'kibana_url': sim.url,
                                                    'api_key': API_KEY}, canaries=(LLM_KEY,), timeout=3600)
    elapsed = time.monotonic() - start
    if result.rc != 0:
        raise SystemExit('benchmark run failed:\n%r' % result)
    stats = sim.stats()
    return {'seconds': elapsed, 'requests': stats['total'], 'writes': sim.writes()}


def check(sim, specs, label, measured, expect_writes):
    live = sim.api('GET', '/api/actions/connectors', api_key=API_KEY)[1]
    ids = set(c['id'] for c in live)
    missing = [s['connector_id'] for s in specs if s['connector_id'] not in ids]
    if missing or len(live) != len(specs):
        raise SystemExit('%s: Kibana holds %d connectors, %d missing' % (label, len(live), len(missing)))
    if measured['writes'] != expect_writes:
        raise SystemExit('%s: %d writes, expected %d' % (label, measured['writes'], expect_writes))


def bench(n, workdir, progress):
    specs = make_specs(n)
    changed = one_change(specs)
    scenarios = (('first apply', specs, n), ('no-op apply', specs, 0), ('one-change apply', changed, 1))
    results = {}
    sim = harness.Simulator('kibana', ['--api-key', API_KEY])
    try:
        for tool, play in (('module', MODULE_PLAY), ('baseline', BASELINE_PLAY)):
            sim.reset()
            for label, wanted, writes in scenarios:
                progress('%-8s %-17s ...' % (tool, label))
                measured = run(sim, play, wanted, workdir)
                check(sim, wanted, '%s %s' % (tool, label), measured, writes)
                results[(tool, label)] = measured
                progress('%-8s %-17s %7.1f s %6d requests' % (tool, label, measured['seconds'], measured['requests']))
    finally:
        sim.stop()
    return [label for label, _s, _w in scenarios], results


def table(n, labels, results):
    lines = ['N = %d connectors in one space, Kibana simulator on loopback (ansible-core, local connection)' % n, '',
             '| run | connectors module: time | requests | uri baseline: time | requests | faster | fewer requests |',
             '|:--|--:|--:|--:|--:|--:|--:|']
    for label in labels:
        m, b = results[('module', label)], results[('baseline', label)]
        lines.append('| %s | %.1f s | %d | %.1f s | %d | %.1fx | %.1fx |' % (
            label, m['seconds'], m['requests'], b['seconds'], b['requests'], b['seconds'] / m['seconds'],
            b['requests'] / float(max(m['requests'], 1))))
    noop, first = results[('module', 'no-op apply')], results[('module', 'first apply')]
    noop_speed = results[('baseline', 'no-op apply')]['seconds'] / noop['seconds']
    first_speed = results[('baseline', 'first apply')]['seconds'] / first['seconds']
    lines += ['',
              'targets: no-op <= 2 requests per space: %s (%d); no-op >= 20x faster: %s (%.1fx); '
              'first apply >= 5x faster: %s (%.1fx)' % (
                  'met' if noop['requests'] <= 2 else 'MISSED', noop['requests'],
                  'met' if noop_speed >= 20 else 'MISSED', noop_speed,
                  'met' if first_speed >= 5 else 'MISSED', first_speed)]
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--n', type=int, default=int(os.environ.get('BENCH_N', 500)))
    parser.add_argument('--out', default=os.path.join(harness.ROOT, 'bench-output', 'bench.md'))
    args = parser.parse_args(argv)
    workdir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(workdir, exist_ok=True)
    labels, results = bench(args.n, workdir, lambda line: print(line, flush=True))
    text = table(args.n, labels, results)
    with open(args.out, 'w') as f:
        f.write(text + '\n')
    print('\n' + text + '\n\n(also written to %s)' % args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())

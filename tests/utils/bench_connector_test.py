"""Benchmark (not a test): connector_test over N connectors against an upstream with fixed latency.

    python tests/utils/bench_connector_test.py [--connectors 100] [--latency-ms 200]
                                               [--via kibana,direct,both] [--concurrency 32] [--repeat 3]

Starts the OpenAI simulator (every answer delayed by --latency-ms before its first byte, stream
chunks 20 ms apart) and the Kibana simulator, creates the connectors in Kibana through its API,
then runs the connector_test module in real ansible-playbook runs. The module time is the time
between the task before it and the task after it (it includes Ansible's own cost of running a
module: the same measured with ansible.builtin.ping is printed as the per-task floor); the fixed
cost of starting ansible-playbook is what the whole run took beyond that.

Every run is checked before its figure counts: all results ok, in input order, with every stage
of the chosen way, and the simulators (read out of band) saw exactly the requests expected.
Figures are printed with the load average of the machine at the time, against the targets of
issue 13 and the latency floor N x latency / concurrency.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

KIBANA_KEY = 'bench-kibana-key'
LLM_KEY = 'bench-llm-key-0123456789'
TARGETS = {'kibana': 2.0, 'direct': 3.0, 'both': 4.0}  # seconds of module time, 100 connectors, 200 ms
STAGES = {'kibana': ['kibana_test'], 'direct': ['dns', 'connect', 'auth', 'completion', 'response', 'stream']}
STAGES['both'] = STAGES['kibana'] + STAGES['direct']
UPSTREAM_REQUESTS = {'kibana': 1, 'direct': 2, 'both': 3}  # per connector


def playbook(task, out):
    stamp = "{{ now().timestamp() }}"
    tasks = [{'ansible.builtin.set_fact': {'t0': stamp}}, dict(task, register='t'),
             {'ansible.builtin.set_fact': {'t1': stamp}},
             {'ansible.builtin.copy': {'content': '{{ {"t0": t0 | float, "t1": t1 | float, "result": t} | to_json }}',
                                       'dest': out}}]
    return yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}])


def cpu_seconds(pid):
    """User + system CPU time a process has used so far (Linux /proc)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf('SC_CLK_TCK'))


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(task, out, sims=()):
    """One playbook run: (wall, module time, registered result, CPU seconds of ansible-playbook and of each sim)."""
    before = [children_cpu()] + [cpu_seconds(sim.proc.pid) for sim in sims]
    started = time.monotonic()
    res = harness.run_playbook(playbook(task, out), canaries=[LLM_KEY, KIBANA_KEY])
    wall = time.monotonic() - started
    after = [children_cpu()] + [cpu_seconds(sim.proc.pid) for sim in sims]
    run.cpu = [b - a for a, b in zip(before, after)]
    if res.rc != 0:
        raise SystemExit('the benchmark playbook failed:\n%s' % res.output[-3000:])
    with open(out) as f:
        data = json.load(f)
    return wall, data['t1'] - data['t0'], data['result']


def check(result, specs, via, llm, kibana):
    """A fast wrong answer is a failure: return the problems of this run (empty when correct)."""
    problems = []
    results = result.get('results') or []
    if [r.get('connector_id') for r in results] != [s['connector_id'] for s in specs]:
        problems.append('results are not the connectors in input order')
    for r in results:
        if r['status'] != 'ok' or [s['name'] for s in r['stages']] != STAGES[via]:
            problems.append('%s: %s %s (stages %s)' % (r['connector_id'], r['status'], r.get('message'),
                                                       [s['name'] for s in r['stages']]))
            break
    sent = llm.sim('GET', '/_sim/stats')[1]['paths'].get('POST /v1/chat/completions', 0)
    if sent != UPSTREAM_REQUESTS[via] * len(specs):
        problems.append('the upstream saw %d completions, expected %d' % (sent, UPSTREAM_REQUESTS[via] * len(specs)))
    if via != 'direct':
        executed = sum(n for path, n in kibana.stats()['paths'].items() if path.endswith('/_execute'))
        if executed != len(specs):
            problems.append('Kibana ran %d tests, expected %d' % (executed, len(specs)))
    return problems


def in_process(args, vias, specs, kibana):
    """The probe alone: probe.run_tests in this process, wall and CPU time, results checked."""
    # pylint: disable=import-outside-toplevel  # the collection is importable once harness ran
    from ansible_collections.kibana_gitops.connectors.plugins.module_utils import kibana as kibana_client
    from ansible_collections.kibana_gitops.connectors.plugins.module_utils import probe, probe_targets
    client = kibana_client.KibanaClient(kibana.url, api_key=KIBANA_KEY, timeout=45, pool_size=args.concurrency)
    for via in vias:
        figures = []
        for _i in range(args.repeat):
            targets = probe_targets.targets_from_specs(specs, 'default')
            load = os.getloadavg()[0]
            started, cpu = time.monotonic(), time.process_time()
            results, summary = probe.run_tests(targets, probe_targets.Options(via=via, max_concurrency=args.concurrency),
                                               client=client)
            wall, cpu = time.monotonic() - started, time.process_time() - cpu
            wrong = summary['ok'] != len(specs) or [r['connector_id'] for r in results] != [t['connector_id'] for t in specs]
            figures.append('%.2f s (CPU %.2f s, load %.1f%s)' % (wall, cpu, load, ', WRONG' if wrong else ''))
        print('  via %-6s in-process probe.run_tests: %s' % (via, ', '.join(figures)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--connectors', type=int, default=100)
    parser.add_argument('--latency-ms', type=int, default=200)
    parser.add_argument('--via', default='kibana,direct,both', help='comma-separated: kibana, direct, both')
    parser.add_argument('--concurrency', type=int, default=32, help='max_concurrency of the module')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--in-process', action='store_true',
                        help='also time probe.run_tests in this process (no Ansible): the probe alone')
    args = parser.parse_args()
    vias = [v for v in args.via.split(',') if v]
    if not set(vias) <= set(TARGETS):
        parser.error('--via takes kibana, direct, both')

    llm = harness.Simulator('openai', ['--api-key', LLM_KEY, '--model', 'llama3.1',
                                       '--latency-ms', str(args.latency_ms)])
    kibana = harness.Simulator('kibana', ['--api-key', KIBANA_KEY])
    out = os.path.join(tempfile.mkdtemp(prefix='kgc-bench-'), 'result.json')
    try:
        specs = []
        for i in range(args.connectors):
            spec = {'connector_id': 'bench-llm-%03d' % i, 'name': 'Bench LLM %03d' % i, 'connector_type_id': '.gen-ai',
                    'config': {'apiProvider': 'Other', 'apiUrl': llm.url + '/v1/chat/completions',
                               'defaultModel': 'llama3.1'},
                    'secrets': {'apiKey': LLM_KEY}}
            status, body = kibana.api('POST', '/api/actions/connector/' + spec['connector_id'], {
                'name': spec['name'], 'connector_type_id': '.gen-ai', 'config': spec['config'],
                'secrets': spec['secrets']}, api_key=KIBANA_KEY)
            if status != 200:
                raise SystemExit('could not create %s: %s' % (spec['connector_id'], body))
            specs.append(spec)

        floor = args.connectors * args.latency_ms / 1000.0 / args.concurrency
        print('connector_test: %d connectors, upstream latency %d ms, max_concurrency %d; latency floor %d x %.1f s / %d'
              ' = %.2f s' % (args.connectors, args.latency_ms, args.concurrency, args.connectors,
                             args.latency_ms / 1000.0, args.concurrency, floor))
        pings = []
        for _i in range(args.repeat):
            pings.append(run({'ansible.builtin.ping': {}}, out)[1])
        print('  per-task floor (ansible.builtin.ping): %s s; CPU of that whole playbook run %.2f s' % (
            ', '.join('%.2f' % p for p in pings), run.cpu[0]))
        if args.in_process:
            in_process(args, vias, specs, kibana)
        # the fixed cost: one connector, so the latency is paid once (0.2 s kibana, about 0.4 s direct and both)
        for via in vias:
            one = []
            for _i in range(args.repeat):
                one.append(run({'kibana_gitops.connectors.connector_test': {
                    'kibana_url': kibana.url, 'api_key': KIBANA_KEY, 'specs': specs[:1], 'via': via}}, out)[1])
            print('  via %-6s with 1 connector: module %s s' % (via, ', '.join('%.2f' % t for t in one)))
        summary = []
        for via in vias:
            task = {'kibana_gitops.connectors.connector_test': {
                'kibana_url': kibana.url, 'api_key': KIBANA_KEY, 'specs': specs, 'via': via,
                'max_concurrency': args.concurrency}}
            figures = []
            for i in range(args.repeat):
                kibana.reset_stats()
                llm.sim('POST', '/_sim/reset')
                load = os.getloadavg()[0]
                wall, module, result = run(task, out, (kibana, llm))
                problems = check(result, specs, via, llm, kibana)
                # the busiest moment of the upstream: the stages' own times over the concurrency bound
                busy = sum(s.get('latency_ms') or 0 for r in result['results'] for s in r['stages']
                           if s['name'] in ('kibana_test', 'completion', 'stream')) / 1000.0 / args.concurrency
                print('  via %-6s run %d: module %.2f s (ansible-playbook start and end %.2f s), request floor %.2f s, '
                      'load %.1f, CPU s: ansible+module %.2f, Kibana sim %.2f, LLM sim %.2f%s' % (
                          via, i + 1, module, wall - module, busy, load, run.cpu[0], run.cpu[1], run.cpu[2],
                          '' if not problems else ', WRONG: %s' % '; '.join(problems)))
                if not problems:
                    figures.append((module, load))
            summary.append((via, figures))
        print('summary (module time; target from issue 13 for 100 connectors at 200 ms):')
        for via, figures in summary:
            if not figures:
                print('  via %-6s no correct run' % via)
                continue
            times = [f[0] for f in figures]
            met = sum(1 for t in times if t <= TARGETS[via])
            print('  via %-6s median %.2f s, best %.2f s (load %s); target <= %.1f s: met in %d of %d runs' % (
                via, statistics.median(times), min(times), '/'.join('%.1f' % f[1] for f in figures), TARGETS[via],
                met, len(times)))
    finally:
        kibana.stop()
        llm.stop()


if __name__ == '__main__':
    main()

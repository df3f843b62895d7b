"""Benchmark (not a test): connector_test over N connectors against an upstream with fixed latency.

    python tests/utils/bench_connector_test.py [--connectors 100] [--latency-ms 200] [--via both]
                                               [--concurrency 8]

Starts the OpenAI simulator (every answer delayed by --latency-ms before its first byte, stream
chunks 20 ms apart) and the Kibana simulator, creates the connectors in Kibana through its API,
then runs the connector_test module in a real ansible-playbook and prints the wall time of that
run (and of the module alone, from its own per-connector figures).
"""
import argparse
import json
import os
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

KIBANA_KEY = 'bench-kibana-key'
LLM_KEY = 'bench-llm-key-0123456789'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--connectors', type=int, default=100)
    parser.add_argument('--latency-ms', type=int, default=200)
    parser.add_argument('--via', choices=('kibana', 'direct', 'both'), default='both')
    parser.add_argument('--concurrency', type=int, default=8)
    args = parser.parse_args()

    llm = harness.Simulator('openai', ['--api-key', LLM_KEY, '--model', 'llama3.1',
                                       '--latency-ms', str(args.latency_ms)])
    kibana = harness.Simulator('kibana', ['--api-key', KIBANA_KEY])
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
        out = os.path.join(tempfile.mkdtemp(prefix='kgc-bench-'), 'result.json')
        play = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
            {'kibana_gitops.connectors.connector_test': {
                'kibana_url': kibana.url, 'api_key': KIBANA_KEY, 'specs': specs, 'via': args.via,
                'max_concurrency': args.concurrency}, 'register': 't'},
            {'ansible.builtin.copy': {'content': '{{ t | to_json }}', 'dest': out}}]}]
        started = time.monotonic()
        res = harness.run_playbook(yaml.safe_dump(play), canaries=[LLM_KEY])
        wall = time.monotonic() - started
        if res.rc != 0:
            raise SystemExit('connector_test failed:\n%s' % res.output[-3000:])
        with open(out) as f:
            result = json.load(f)
        latencies = sorted(r['latency_ms'] for r in result['results'])
        print('connector_test via=%s: %d connectors, upstream latency %d ms, concurrency %d' % (
            args.via, args.connectors, args.latency_ms, args.concurrency))
        print('  summary: %s' % json.dumps(result['summary'], sort_keys=True))
        print('  per connector: median %d ms, max %d ms' % (latencies[len(latencies) // 2], latencies[-1]))
        print('  wall time of the ansible-playbook run: %.1f s' % wall)
    finally:
        kibana.stop()
        llm.stop()


if __name__ == '__main__':
    main()

"""probe.run_tests: the concurrency bounds hold, results keep the input order, both ways run side by side.

The upstream is a small threaded OpenAI-like server on loopback that counts the requests it is
serving at the same moment; Kibana is a fake client (this is a unit test of the runner).
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# the import makes the collection importable
import harness  # pylint: disable=unused-import
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import probe, probe_targets

KEY = 'sk-runner-canary-0123456789'
COMPLETION = {'model': 'm', 'choices': [{'message': {'role': 'assistant', 'content': 'hi'}}],
              'usage': {'prompt_tokens': 1, 'completion_tokens': 1, 'total_tokens': 2}}


class Counting(object):
    """In-flight counter: ``now`` requests being served, ``most`` the highest it reached."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = self.most = self.total = 0
        self.delay = 0.05  # how long the upstream takes for each answer

    def __enter__(self):
        with self.lock:
            self.now += 1
            self.total += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc):
        with self.lock:
            self.now -= 1


@pytest.fixture
def upstream():
    counting = Counting()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):
            pass

        def do_POST(self):
            # counted from the request's arrival until just before the last bytes of the answer go out
            # (after them the client may already send its next request)
            body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
            counting.__enter__()
            time.sleep(counting.delay)
            if self.headers.get('Authorization') != 'Bearer %s' % KEY:
                self.answer(401, json.dumps({'error': {'message': 'bad key'}}).encode(), counting)
            elif body.get('stream'):
                self.send_response(200)
                self.send_header('Content-Type', 'text/event-stream')
                self.send_header('Transfer-Encoding', 'chunked')
                self.end_headers()
                for data in ['{"choices":[{"delta":{"content":"h"}}]}'] * 3 + ['[DONE]']:
                    event = ('data: %s\n\n' % data).encode()
                    self.wfile.write(b'%x\r\n%s\r\n' % (len(event), event))
                    self.wfile.flush()
                    time.sleep(0.01)
                counting.__exit__()
                self.wfile.write(b'0\r\n\r\n')
            else:
                self.answer(200, json.dumps(COMPLETION).encode(), counting)
            self.close_connection = True

        def answer(self, status, payload, counter):
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(payload)))
            self.end_headers()
            counter.__exit__()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 64
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    yield 'http://127.0.0.1:%d/v1/chat/completions' % server.server_address[1], counting
    server.shutdown()
    server.server_close()


def targets(url, n, bad=()):
    return [probe_targets.Target(connector_id='llm-%02d' % i, connector_type_id='.gen-ai',
                                 config={'apiProvider': 'Other', 'apiUrl': url, 'defaultModel': 'm'},
                                 secrets={'apiKey': 'wrong-key' if i in bad else KEY}) for i in range(n)]


class FakeKibana(object):
    """Stands in for KibanaClient.execute; counts the tests in flight."""

    def __init__(self):
        self.counting = Counting()

    def execute(self, space_id, connector_id, params):
        with self.counting:
            time.sleep(0.05)
        return {'status': 'ok', 'connector_id': connector_id, 'data': COMPLETION}


@pytest.mark.parametrize('limit', [1, 3])
def test_direct_requests_to_one_upstream_stay_within_the_bound(upstream, limit):
    url, counting = upstream
    results, summary = probe.run_tests(targets(url, 8, bad=(5,)), probe_targets.Options(
        via='direct', max_concurrency=32, upstream_max_concurrency=limit, timeout=10))
    assert counting.most <= limit
    assert counting.total == 16  # completion and stream for each (the stream of llm-05 is sent, not judged)
    assert [r['connector_id'] for r in results] == ['llm-%02d' % i for i in range(8)]
    assert summary == {'total': 8, 'ok': 7, 'failed': 1, 'skipped': 0}
    failed = results[5]
    assert failed['class'] == 'auth'
    stream = [s for s in failed['stages'] if s['name'] == 'stream'][0]
    assert stream['status'] == 'skipped' and 'not judged' in stream['detail']
    assert KEY not in json.dumps(results)


def test_the_stream_request_runs_next_to_the_completion(upstream):
    url, counting = upstream
    counting.delay = 0.3
    results, _summary = probe.run_tests(targets(url, 1), probe_targets.Options(via='direct', timeout=10))
    assert results[0]['status'] == 'ok', results[0]
    assert counting.most == 2  # the completion and the stream were in flight at the same time
    assert [s['name'] for s in results[0]['stages']] == ['dns', 'connect', 'auth', 'completion', 'response', 'stream']


def test_both_ways_share_the_upstream_bound_and_kibana_has_its_own(upstream):
    url, counting = upstream
    kibana = FakeKibana()
    results, summary = probe.run_tests(targets(url, 10), probe_targets.Options(
        via='both', max_concurrency=2, upstream_max_concurrency=4, timeout=10), client=kibana)
    assert summary['ok'] == 10
    assert kibana.counting.most <= 2
    assert counting.most <= 4
    assert kibana.counting.total == 10 and counting.total == 20
    for r in results:
        assert [(s['via'], s['name']) for s in r['stages']][:2] == [('kibana', 'kibana_test'), ('direct', 'dns')]
        assert r['usage'] == COMPLETION['usage']


def test_a_connector_known_only_by_name_is_looked_up_before_the_direct_stages(upstream):
    url, _counting = upstream
    kibana = FakeKibana()
    target = targets(url, 1)[0]
    target.connector_id = None
    target.name = 'LLM by name'

    def find_live(spec):
        assert spec['name'] == 'LLM by name'
        return {'id': 'found-id', 'name': 'LLM by name', 'connector_type_id': '.gen-ai'}
    results, _summary = probe.run_tests([target], probe_targets.Options(via='both', timeout=10), client=kibana,
                                        find_live=find_live)
    assert results[0]['status'] == 'ok', results[0]
    assert results[0]['connector_id'] == 'found-id'

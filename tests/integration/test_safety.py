"""Issue 9 guards, through real ansible-playbook runs, checked out of band.

* prune never wipes by accident (empty set, a spec that cannot be planned, max_deletes, references, scope);
* no secret in any output, file or foreign host (argument errors at -vvv, echoed credentials, redirects,
  credential headers in config);
* no duplicate under slowness or concurrency (deterministic ids for name-only specs);
* ids that cannot round-trip are refused, every other id is percent-encoded;
* clear words when things go wrong.

Kibana's state is read from the simulator (/_sim/ and its API as another client), never from what the
module says it did; foreign hosts are loopback servers that record what reaches them.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

import harness

pytestmark = pytest.mark.integration

API_KEY = 'CANARY-safety-kibana-key-41d7'
PASSWORD = 'CANARY-safety-kibana-pw-9e2b'
LLM_KEY = 'CANARY-safety-llm-key-5a10'
HOOK_PASSWORD = 'CANARY-safety-hook-pw-77c3'
CANARIES = (API_KEY, PASSWORD, LLM_KEY, HOOK_PASSWORD)
# Secrets reach the tasks as variables, as from a vault: a literal in the playbook would be shown by Ansible's
# own error context (the task's source lines), which no module can mask.
SECRET_VARS = {'kibana_key': API_KEY, 'kibana_pw': PASSWORD, 'llm_key': LLM_KEY, 'hook_pw': HOOK_PASSWORD}
HEADER_TOKEN = 'plain-header-token-3f9a7c'  # what a careless user puts in config.headers
KEY, PW, LLM, HOOK_PW = '{{ kibana_key }}', '{{ kibana_pw }}', '{{ llm_key }}', '{{ hook_pw }}'


# ---------------------------------------------------------------------------------------------- helpers
class Recorder(object):
    """A loopback HTTP server: `answer(handler, body) -> (status, headers, payload)`; records every request."""

    def __init__(self, answer):
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length).decode('utf-8', 'replace') if length else ''
                outer.requests.append({'method': self.command, 'path': self.path, 'headers': dict(self.headers),
                                       'body': body})
                status, headers, payload = answer(self, body)
                data = json.dumps(payload).encode() if payload is not None else b''
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    started = []

    def make(answer):
        server = Recorder(answer)
        started.append(server)
        return server
    yield make
    for server in started:
        server.close()


def play(tmp_path, tasks, name='run', **kwargs):
    """Run `tasks` (each registered as r<i>, errors ignored) in one playbook; return (PlaybookResult, [results])."""
    out = tmp_path / ('%s-results.json' % name)
    body = []
    for index, task in enumerate(tasks):
        body.append(dict(task, register='r%d' % index, ignore_errors=True))
    body.append({'name': 'save results', 'ansible.builtin.copy': {
        'content': '{{ [%s] | to_json }}' % ', '.join('r%d' % i for i in range(len(tasks))), 'dest': str(out)},
        'check_mode': False, 'diff': False})
    playbook = yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': body}])
    kwargs.setdefault('canaries', CANARIES)
    kwargs.setdefault('extra_vars', SECRET_VARS)
    result = harness.run_playbook(playbook, scan_paths=[str(tmp_path)], **kwargs)
    assert result.rc == 0, result
    return result, json.loads(out.read_text())


def connection(sim, **extra):
    conn = {'kibana_url': sim.url, 'api_key': KEY}
    conn.update(extra)
    return conn


def index_spec(cid, name=None, index='alerts'):
    spec = {'name': name or cid, 'connector_type_id': '.index', 'config': {'index': index}}
    if cid:
        spec['connector_id'] = cid
    return spec


def ids(sim, space=None):
    status, body = sim.api('GET', '/api/actions/connectors', api_key=API_KEY, space=space)
    assert status == 200, body
    return sorted(c['id'] for c in body if not c.get('is_preconfigured'))


def create(sim, cid, name=None):
    status, body = sim.api('POST', '/api/actions/connector/%s' % cid, index_spec(None, name or cid), api_key=API_KEY)
    assert status == 200, body


def deletes(sim):
    return sim.stats()['methods'].get('DELETE', 0)


# ---------------------------------------------------------------------------------------------- §2 prune guards
def test_prune_guards_refuse_and_write_nothing_destructive(kibana_sim_factory, tmp_path):
    sim = kibana_sim_factory('--api-key', API_KEY)
    for cid in ('gitops-keep', 'gitops-a', 'gitops-b', 'gitops-c'):
        create(sim, cid)
    create(sim, 'gitops-same-1', 'Same')
    create(sim, 'gitops-same-2', 'Same')
    create(sim, 'gitops-used', 'Used')
    sim.set_references('gitops-used', 1)  # one rule is enough
    before = ids(sim)
    sim.reset_stats()
    conn = connection(sim)
    mod = 'kibana_gitops.connectors.connectors'
    tasks = [
        # 0: an empty set (a misspelled folder, a failed lookup) with prune: refused before any request
        {mod: dict(conn, specs=[], prune=True, managed_id_prefix='gitops-')},
        # 1: only absent specs: the desired set is still empty
        {mod: dict(conn, specs=[{'connector_id': 'gitops-a', 'state': 'absent'}], prune=True,
                   managed_id_prefix='gitops-')},
        # 2: an ambiguous name-only spec: nothing is pruned in the space (both candidates used to be deleted)
        {mod: dict(conn, specs=[index_spec(None, 'Same'), index_spec('gitops-keep')], prune=True,
                   managed_id_prefix='gitops-')},
        # 3: more deletions than max_deletes allows: none
        {mod: dict(conn, specs=[index_spec('gitops-keep'), index_spec('gitops-same-1', 'Same'),
                                index_spec('gitops-same-2', 'Same')], prune=True, managed_id_prefix='gitops-',
                   max_deletes=2)},
        # 4: the same as a percentage (40 % of the 7 managed connectors is 2)
        {mod: dict(conn, specs=[index_spec('gitops-keep'), index_spec('gitops-same-1', 'Same'),
                                index_spec('gitops-same-2', 'Same')], prune=True, managed_id_prefix='gitops-',
                   max_deletes='40%')},
        # 5: prune without a managed scope
        {mod: dict(conn, specs=[index_spec('gitops-keep')], prune=True)},
        # 6: state absent of a connector a rule still uses, without force
        {'kibana_gitops.connectors.connector': dict(conn, connector_id='gitops-used', state='absent')},
        # 7: the same through the set
        {mod: dict(conn, specs=[{'connector_id': 'gitops-used', 'state': 'absent'}])},
    ]
    _play, r = play(tmp_path, tasks)
    assert all(x['failed'] for x in r), [x.get('msg') for x in r]
    assert 'prune_empty' in r[0]['msg'] and 'prune_empty' in r[1]['msg']
    refused = dict((x['connector_id'], x['msg']) for x in r[2]['results'] if x['action'] == 'refused')
    assert set(refused) == {'gitops-same-1', 'gitops-same-2', 'gitops-a', 'gitops-b', 'gitops-c', 'gitops-used'}, r[2]
    assert 'referenced by 1' in refused.pop('gitops-used')
    assert all('could not be planned' in m and 'ambiguous' in m for m in refused.values())
    for x in (r[3], r[4]):
        assert 'max_deletes' in x['msg'] and x['summary']['deleted'] == 0 and x['summary']['refused'] == 4, x
    assert 'managed scope' in r[5]['msg']
    assert r[6]['action'] == 'refused' and 'referenced by 1' in r[6]['msg'], r[6]
    assert [x['action'] for x in r[7]['results']] == ['refused']
    # out of band: not one DELETE reached Kibana, every connector is still there
    assert deletes(sim) == 0, sim.stats()
    assert ids(sim) == before

    # the same intents, said explicitly, are carried out
    tasks = [
        {mod: dict(conn, specs=[index_spec('gitops-keep'), index_spec('gitops-same-1', 'Same'),
                                index_spec('gitops-same-2', 'Same')], prune=True, managed_id_prefix='gitops-',
                   max_deletes='50%')},
        {'kibana_gitops.connectors.connector': dict(conn, connector_id='gitops-used', state='absent', force=True)},
        {mod: dict(conn, specs=[], prune=True, managed_ids=['gitops-same-2'], prune_empty=True)},
    ]
    _play, r = play(tmp_path, tasks, name='allowed')
    assert not any(x['failed'] for x in r), [x.get('msg') for x in r]
    assert sorted(x['connector_id'] for x in r[0]['results'] if x.get('pruned')) == ['gitops-a', 'gitops-b', 'gitops-c']
    assert [x['action'] for x in r[0]['results'] if x['connector_id'] == 'gitops-used'] == ['refused']
    assert ids(sim) == ['gitops-keep', 'gitops-same-1']
    assert deletes(sim) == 5


def test_role_with_a_misspelled_folder_fails_and_prunes_nothing(kibana_sim_factory, tmp_path):
    import fleet
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=1, spaces=('default',), preconfigured=False)
    sim = f.sims[0]
    f.write_spec({'connector_id': 'gitops-log', 'name': 'Log', 'connector_type_id': '.server-log'})
    play_ = f.run('apply.yml')
    assert play_.rc == 0, play_
    f.create(sim, 'gitops-other', {'name': 'Other', 'connector_type_id': '.server-log'})
    sim.reset_stats()
    # a bound of 0 prunes (deletes) nothing: the space fails and says why
    play_ = f.run('apply.yml', group_vars={'connectors_max_deletes': 0})
    assert play_.rc != 0 and 'max_deletes' in play_.stdout, play_
    assert sim.writes() == 0, sim.stats()
    misspelled = {'connectors_dir': str(f.repo) + 's'}
    for args in (['--tags', 'apply'], []):
        play_ = f.run('apply.yml', group_vars=misspelled, args=args)
        assert play_.rc != 0, play_
        assert str(f.repo) + 's' in play_.stdout, play_  # the error names the folder
        assert sim.writes() == 0, sim.stats()
    assert f.ids(sim) == {'gitops-log', 'gitops-other'}
    # a managed space that no spec is for (a space_id typo, a renamed folder) is an error too
    play_ = f.run('apply.yml', group_vars={'connectors_spaces': ['default', 'securty']})
    assert play_.rc != 0 and 'securty' in play_.stdout and 'connectors_allow_empty' in play_.stdout, play_
    assert sim.writes() == 0, sim.stats()
    # said explicitly: an empty folder and an empty set, pruned
    (tmp_path / 'empty').mkdir()
    play_ = f.run('apply.yml', group_vars={'connectors_dir': str(tmp_path / 'empty'), 'connectors_allow_empty': True})
    assert play_.rc == 0, play_
    assert f.ids(sim) == set()


# ---------------------------------------------------------------------------------------------- §3 secrets
def test_argument_errors_at_vvv_print_no_secret(kibana_sim_factory, tmp_path):
    sim = kibana_sim_factory('--api-key', API_KEY)
    spec = {'connector_id': 'llm', 'name': 'LLM', 'connector_type_id': '.gen-ai',
            'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
            'secrets': {'apiKey': LLM},
            'pki': {'certificate': 'c.crt', 'private_key': '-----BEGIN PRIVATE KEY-----\n%s\n' % HOOK_PW}}
    tasks = [{'kibana_gitops.connectors.connectors': dict(connection(sim), specs=[spec], prune='maybe')},
             {'kibana_gitops.connectors.connectors': dict(connection(sim), specs=[spec], parallel_writes='many')}]
    result, r = play(tmp_path, tasks, verbosity=3)  # run_playbook fails the test on any canary, in any form
    assert all(x['failed'] for x in r)
    assert "'maybe'" in r[0]['msg'] and 'prune' in r[0]['msg'], r[0]  # Ansible's own check did fail
    assert 'parallel_writes' in r[1]['msg'], r[1]
    assert 'module_args' in result.stdout  # -vvv printed the arguments: without the secrets
    assert sim.stats()['total'] == 0


def echo_headers(handler, body):
    """Kibana or a proxy that quotes the request, headers included, in its error."""
    if handler.path.startswith('/api/status'):
        return 200, {}, {'version': {'number': '9.2.0'}}
    return 400, {}, {'statusCode': 400, 'error': 'Bad Request',
                     'message': 'rejected %s %s with headers %s and body %s' % (
                         handler.command, handler.path, json.dumps(dict(handler.headers)), body)}


def test_echoed_credentials_are_masked_in_output_and_reports(recorder, tmp_path):
    echo = recorder(echo_headers)
    spec = {'connector_id': 'llm', 'name': 'LLM', 'connector_type_id': '.gen-ai',
            'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
            'secrets': {'apiKey': LLM}}
    basic = {'kibana_url': echo.url, 'username': 'elastic', 'password': PW}
    junit, markdown = tmp_path / 'reports' / 'junit.xml', tmp_path / 'reports' / 'summary.md'
    tasks = [
        {'kibana_gitops.connectors.connectors': dict(kibana_url=echo.url, api_key=KEY, specs=[spec])},
        {'kibana_gitops.connectors.connector': dict(basic, **spec)},
        {'kibana_gitops.connectors.connector_test': dict(basic, connector_ids=['llm'], via='kibana',
                                                         junit_path=str(junit), markdown_path=str(markdown))},
        {'kibana_gitops.connectors.connector_test': dict(kibana_url=echo.url, api_key=KEY, specs=[spec],
                                                         via='kibana', junit_path=str(junit) + '.2')},
    ]
    result, r = play(tmp_path, tasks, verbosity=2)  # the output and every report file are scanned for canaries
    assert all(x['failed'] for x in r), r
    # the credentials did reach the server and came back in its answers: masked, not missing
    assert any(req['headers'].get('Authorization') == 'ApiKey ' + API_KEY for req in echo.requests)
    assert any(req['headers'].get('Authorization', '').startswith('Basic ') for req in echo.requests)
    assert 'Authorization' in result.stdout and '********' in result.stdout
    reports = junit.read_text() + markdown.read_text() + (tmp_path / 'reports' / 'junit.xml.2').read_text()
    assert 'Authorization' in reports and '********' in reports and 'CANARY' not in reports


def test_redirects_never_carry_a_request_elsewhere(recorder, tmp_path):
    capture = recorder(lambda handler, body: (200, {}, {'id': 'x', 'name': 'x', 'connector_type_id': '.webhook'}))

    def kibana_that_moved(handler, body):
        """Reads work; writes are redirected to another origin (a 307/308 keeps method and body)."""
        if handler.command == 'GET' and handler.path.endswith('/connectors'):
            return 200, {}, []
        if handler.command == 'GET':
            return 404, {}, {'statusCode': 404, 'error': 'Not Found', 'message': 'Saved object not found'}
        return 307, {'Location': capture.url + handler.path}, None
    moved = recorder(kibana_that_moved)
    spec = {'connector_id': 'hook', 'name': 'Hook', 'connector_type_id': '.webhook',
            'config': {'url': 'https://hooks.example.com/x', 'hasAuth': True},
            'secrets': {'user': 'u', 'password': HOOK_PW}}
    tasks = [{'kibana_gitops.connectors.connector': dict(kibana_url=moved.url, api_key=KEY, **spec)},
             {'kibana_gitops.connectors.connectors': dict(kibana_url=moved.url, api_key=KEY, specs=[spec])}]
    _result, r = play(tmp_path, tasks)
    assert all(x['failed'] for x in r)
    assert 'redirect' in r[0]['msg'] and 'another origin' in r[0]['msg'], r[0]
    assert 'redirect' in r[1]['results'][0]['msg'], r[1]
    assert capture.requests == []  # the body with the secrets never reached the other host
    posts = [req for req in moved.requests if req['method'] == 'POST']
    assert len(posts) == 2 and all(HOOK_PASSWORD in req['body'] for req in posts)  # sent once each, to Kibana only


def test_credential_headers_in_config_warn_and_export_writes_a_placeholder(kibana_sim_factory, tmp_path):
    sim = kibana_sim_factory('--api-key', API_KEY)
    spec = {'connector_id': 'hook', 'name': 'Hook', 'connector_type_id': '.webhook',
            'config': {'url': 'https://hooks.example.com/x', 'hasAuth': False,
                       'headers': {'Authorization': 'Bearer %s' % HEADER_TOKEN, 'X-Team': 'ops'}}}
    tasks = [{'kibana_gitops.connectors.connector_spec': {'specs': [spec]}},
             {'kibana_gitops.connectors.connectors': dict(connection(sim), specs=[spec])},
             {'kibana_gitops.connectors.connector': dict(connection(sim), **spec)}]
    # the token is in plain config on purpose (that is what is warned about): not a canary of this run
    result, r = play(tmp_path, tasks)
    assert not any(x['failed'] for x in r), r
    warned = [line for line in result.output.splitlines() if 'config.headers.Authorization' in line]
    assert warned and all('secretHeaders' in line for line in warned), result.output  # Ansible shows it once
    for x in r[1:]:  # connectors and connector each warned
        assert any('config.headers.Authorization' in w and 'secretHeaders' in w for w in x['warnings']), x
    assert 'X-Team' not in ' '.join(warned)
    assert [w['path'] for w in r[0]['warnings_found']] == ['/config/headers/Authorization']  # connector_spec

    export_dir = tmp_path / 'export'
    _result, r = play(tmp_path, [{'kibana_gitops.connectors.connector_info': dict(connection(sim),
                                                                                  export_dir=str(export_dir))}],
                      name='export')
    text = ''.join(p.read_text() for p in export_dir.iterdir())
    assert HEADER_TOKEN not in text and 'ops' in text, text
    # a plain placeholder (filled in from the vault when the file is loaded), not data tagged !unsafe
    assert "Authorization: '{{ vault_hook_header_authorization }}'" in text, text


# ---------------------------------------------------------------------------------------------- §4 duplicates
def test_two_concurrent_applies_make_one_connector_per_spec(kibana_sim_factory, tmp_path):
    sim = kibana_sim_factory('--api-key', API_KEY)
    specs = [index_spec(None, 'Concurrent %02d' % i, 'c-%02d' % i) for i in range(12)]
    outcome = {}

    def apply(name):
        folder = tmp_path / name
        folder.mkdir()
        outcome[name] = play(folder, [{'kibana_gitops.connectors.connectors': dict(connection(sim), specs=specs,
                                                                                   parallel_writes=6)}], name=name)

    threads = [threading.Thread(target=apply, args=(n,)) for n in ('one', 'two')]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(outcome) == {'one', 'two'}
    names = sorted(c['name'] for c in sim.api('GET', '/api/actions/connectors', api_key=API_KEY)[1])
    assert names == sorted(s['name'] for s in specs)  # one connector per spec, whoever came first
    results = [x for name in outcome for x in outcome[name][1][0]['results']]
    assert not any(outcome[name][1][0]['failed'] for name in outcome), outcome
    # the results say what really happened: each connector reported created by exactly one run
    created = sorted(x['name'] for x in results if x['action'] == 'created')
    assert created == sorted(s['name'] for s in specs), results
    assert sim.stats()['methods'].get('POST', 0) >= len(specs)


def test_slow_answers_make_no_duplicate_and_say_so(kibana_sim_factory, tmp_path):
    sim = kibana_sim_factory('--api-key', API_KEY, '--faults', 'rate=0.35,kinds=slow,slow_ms=2500,seed=11')
    specs = [index_spec(None, 'Slow %02d' % i, 's-%02d' % i) for i in range(10)]
    task = {'kibana_gitops.connectors.connectors': dict(connection(sim), specs=specs, timeout=1, retries=0)}
    _result, r = play(tmp_path, [task], name='no-retries')
    assert sim.stats()['faults'].get('slow', 0) >= 1
    assert r[0]['failed'] and 'did not answer within 1 s' in json.dumps(r[0]), r[0]
    assert 'cannot connect' not in json.dumps(r[0])
    for attempt in range(4):  # retries re-send creates to the same ids: 409, compared, never a second connector
        task['kibana_gitops.connectors.connectors']['retries'] = 3
        _result, r = play(tmp_path, [task], name='retries-%d' % attempt)
        if not r[0]['failed']:
            break
    assert not r[0]['failed'], r[0]
    names = [c['name'] for c in sim.api('GET', '/api/actions/connectors', api_key=API_KEY)[1]]
    assert sorted(names) == sorted(s['name'] for s in specs)


def test_duplicate_name_only_specs_are_an_error_before_any_write(kibana_sim_factory, tmp_path):
    sim = kibana_sim_factory('--api-key', API_KEY)
    sim.reset_stats()
    specs = [index_spec(None, 'Twice', 'a'), index_spec(None, 'Twice', 'b')]
    _result, r = play(tmp_path, [{'kibana_gitops.connectors.connectors': dict(connection(sim), specs=specs)}])
    assert r[0]['failed'] and "name 'Twice'" in r[0]['msg'], r[0]
    assert sim.stats()['total'] == 0


# ---------------------------------------------------------------------------------------------- §5 ids, §6 words
def test_ids_are_encoded_or_refused_and_errors_say_what_is_wrong(kibana_sim_factory, recorder, tmp_path):
    sim = kibana_sim_factory('--api-key', API_KEY)
    shapeless = recorder(lambda handler, body: (200, {}, {'data': []}))
    conn = connection(sim)
    sim.reset_stats()
    tasks = [
        {'kibana_gitops.connectors.connector': dict(conn, **index_spec('.'))},
        {'kibana_gitops.connectors.connector': dict(conn, **index_spec('..'))},
        {'kibana_gitops.connectors.connector': dict(conn, connector_id='..', state='absent')},
    ]
    _result, r = play(tmp_path, tasks, name='refused')
    assert all(x['failed'] for x in r), r
    assert all('cannot' in x['msg'] for x in r), [x['msg'] for x in r]
    assert sim.stats()['total'] == 0 and ids(sim) == []

    odd = ['a/b', 'a b', 'a:b', 'a_b', '.hidden', '50%']
    tasks = [{'kibana_gitops.connectors.connector': dict(conn, **index_spec(cid))} for cid in odd]
    tasks += [{'kibana_gitops.connectors.connector': dict(conn, **index_spec(cid))} for cid in odd]
    tasks += [{'kibana_gitops.connectors.connector': dict(conn, ca_path=str(tmp_path / 'no-ca.pem'),
                                                          **index_spec('x'))},
              {'kibana_gitops.connectors.connectors': dict(kibana_url=shapeless.url, api_key=KEY, specs=[])}]
    _result, r = play(tmp_path, tasks, name='odd')
    assert [x['action'] for x in r[:len(odd)]] == ['created'] * len(odd), r
    assert [x['action'] for x in r[len(odd):2 * len(odd)]] == ['unchanged'] * len(odd), r
    assert ids(sim) == sorted(odd)  # each id as given, none lost or merged
    ca = r[-2]
    assert ca['failed'] and 'ca_path' in ca['msg'] and str(tmp_path / 'no-ca.pem') in ca['msg'], ca
    shape = r[-1]
    assert shape['failed'] and 'GET /api/actions/connectors' in shape['msg'] and 'a list of connectors' in shape['msg']
    assert 'has no attribute' not in shape['msg']


# ---------------------------------------------------------------------------------------------- §7 rollout
def test_a_failing_first_instance_stops_the_rollout(kibana_sim_factory, tmp_path):
    """playbooks/apply.yml rolls out one instance first (serial) and stops when it fails (max_fail_percentage)."""
    import fleet
    f = fleet.Fleet(kibana_sim_factory, tmp_path, count=3, spaces=('default',), preconfigured=False)
    f.write_spec({'connector_id': 'gitops-log', 'name': 'Log', 'connector_type_id': '.server-log'})
    f.sims[0].stop()  # the canary instance is down
    play_ = f.run('apply.yml')
    assert play_.rc != 0, play_
    recap = fleet.recap(play_)
    assert recap['kibana-1']['failed'] == 1 and 'kibana-2' not in recap and 'kibana-3' not in recap, recap
    for sim in f.sims[1:]:  # out of band: the other instances were never touched
        assert sim.stats()['total'] == 0, sim.stats()
        assert f.ids(sim) == set()
    assert 'kibana-1' in f.summary_file.read_text()

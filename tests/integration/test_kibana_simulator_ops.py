"""The Kibana simulator's operational features: injected faults, HTTPS, the state file."""
import os
import signal
import socket
import stat
import subprocess
import sys
import threading

import pytest
import requests
import trustme

import harness

pytestmark = pytest.mark.integration

XSRF = {'kbn-xsrf': 'tests'}
INDEX = {'name': 'idx', 'connector_type_id': '.index', 'config': {'index': 'alerts'}}


def outcome(method, url, **kw):
    """What a client sees: the HTTP status, or the name of the connection error."""
    try:
        return requests.request(method, url, timeout=10, **kw).status_code
    except requests.exceptions.ConnectionError:
        return 'connection-error'


# --- faults -------------------------------------------------------------------------------------------

def test_429_with_retry_after_on_every_api_request(kibana_sim_factory):
    sim = kibana_sim_factory('--faults', 'rate=1,kinds=429,retry_after=7')
    resp = requests.get(sim.url + '/api/actions/connectors', timeout=10)
    assert resp.status_code == 429 and resp.headers['Retry-After'] == '7'
    assert resp.json() == {'statusCode': 429, 'error': 'Too Many Requests', 'message': 'Too Many Requests'}
    assert requests.get(sim.url + '/s/a/api/actions/connector/x', timeout=10).status_code == 429
    # /api/status and /_sim/ are never faulted
    assert requests.get(sim.url + '/api/status', timeout=10).status_code == 200
    stats = sim.stats()
    assert stats['faults'] == {'429': 2}
    assert stats['total'] == 3  # faulted requests are counted


def test_503(kibana_sim_factory):
    sim = kibana_sim_factory('--faults', 'rate=1,kinds=503')
    resp = requests.post(sim.url + '/api/actions/connector', json=INDEX, headers=XSRF, timeout=10)
    assert resp.status_code == 503 and resp.json()['error'] == 'Service Unavailable'
    assert sim.sim('GET', '/api/actions/connectors')[0] == 503
    assert sim.stats()['faults'] == {'503': 2}


def test_reset_closes_without_an_answer(kibana_sim_factory):
    sim = kibana_sim_factory('--faults', 'rate=1,kinds=reset')
    assert outcome('GET', sim.url + '/api/actions/connectors') == 'connection-error'
    assert outcome('POST', sim.url + '/api/actions/connector/r1', json=INDEX, headers=XSRF) == 'connection-error'
    assert sim.stored_secrets('r1') is None  # a reset write is not applied
    assert sim.stats()['faults'] == {'reset': 2}


def test_lost_applies_the_write_then_drops_the_answer(kibana_sim_factory):
    sim = kibana_sim_factory('--faults', 'rate=1,kinds=lost')
    body = {'name': 'hook', 'connector_type_id': '.webhook', 'config': {'url': 'https://h.example.com'},
            'secrets': {'user': 'u', 'password': 'p'}}
    assert outcome('POST', sim.url + '/api/actions/connector/lost-1', json=body, headers=XSRF) == 'connection-error'
    assert sim.stored_secrets('lost-1')['user'] == 'u'  # the write happened
    # a GET cannot lose a write: it becomes a reset
    assert outcome('GET', sim.url + '/api/actions/connectors') == 'connection-error'
    assert sim.stats()['faults'] == {'lost': 1, 'reset': 1}


def test_slow_answers_normally(kibana_sim_factory):
    sim = kibana_sim_factory('--faults', 'rate=1,kinds=slow,slow_ms=200')
    resp = requests.post(sim.url + '/api/actions/connector/s1', json=INDEX, headers=XSRF, timeout=10)
    assert resp.status_code == 200 and resp.json()['id'] == 's1'
    assert sim.stats()['faults'] == {'slow': 1}


def sequence(sim, n=40):
    return [outcome('GET', sim.url + '/api/actions/connectors') for _request in range(n)]


def test_seeded_faults_repeat(kibana_sim_factory):
    spec = 'rate=0.5,kinds=429+503+reset,seed=7'
    first = sequence(kibana_sim_factory('--faults', spec))
    second = sequence(kibana_sim_factory('--faults', spec))
    assert first == second
    assert 200 in first and {429, 503, 'connection-error'} & set(first)  # some faulted, some not


def test_fault_counts_match_what_clients_saw(kibana_sim_factory):
    sim = kibana_sim_factory('--faults', 'rate=0.6,kinds=429+503+reset,seed=3')
    seen = sequence(sim, 30)
    faults = sim.stats()['faults']
    assert faults.get('429', 0) == seen.count(429)
    assert faults.get('503', 0) == seen.count(503)
    assert faults.get('reset', 0) == seen.count('connection-error')
    assert sim.stats()['total'] == 30


@pytest.mark.parametrize('spec', ['rate=2', 'kinds=429+teapot', 'rate=0.1,colour=blue', 'seed=x'])
def test_bad_fault_spec_stops_the_simulator(spec):
    proc = subprocess.run([sys.executable, os.path.join(harness.SIMULATORS, 'kibana'), '--port', '0', '--faults', spec],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2 and 'listening' not in proc.stdout
    assert proc.stderr.startswith('kibana simulator: ')


# --- HTTPS ----------------------------------------------------------------------------------------------

def test_https_with_a_trusted_certificate(kibana_sim_factory, tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert('127.0.0.1', 'localhost')
    cert_path, key_path, ca_path = tmp_path / 'server.pem', tmp_path / 'server.key', tmp_path / 'ca.pem'
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    sim = kibana_sim_factory('--tls-cert', str(cert_path), '--tls-key', str(key_path))
    assert sim.url.startswith('https://127.0.0.1:')
    resp = requests.post(sim.url + '/api/actions/connector/tls', json=INDEX, headers=XSRF, verify=str(ca_path),
                         timeout=10)
    assert resp.status_code == 200 and resp.json()['id'] == 'tls'
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sim.url + '/api/status', timeout=10)  # not trusted without the CA
    plain = sim.url.replace('https://', 'http://')
    assert outcome('GET', plain + '/api/status') == 'connection-error'
    # the simulator survives both and still answers
    assert requests.get(sim.url + '/api/status', verify=str(ca_path), timeout=10).status_code == 200


# --- state file -------------------------------------------------------------------------------------------

def test_state_file_round_trip(kibana_sim_factory, tmp_path):
    state = tmp_path / 'state.json'
    first = kibana_sim_factory('--state-file', str(state))
    body = {'name': 'LLM', 'connector_type_id': '.gen-ai',
            'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
            'secrets': {'apiKey': 'sk-state'}}
    requests.post(first.url + '/s/team-a/api/actions/connector/llm', json=body, headers=XSRF, timeout=10)
    requests.post(first.url + '/api/actions/connector/idx', json=INDEX, headers=XSRF, timeout=10)
    requests.post(first.url + '/api/actions/connector/gone', json=INDEX, headers=XSRF, timeout=10)
    requests.delete(first.url + '/api/actions/connector/gone', headers=XSRF, timeout=10)
    first.set_references('idx', 4)
    assert stat.S_IMODE(os.stat(str(state)).st_mode) == 0o600  # it holds secrets
    first.stop()

    second = kibana_sim_factory('--state-file', str(state))
    llm = requests.get(second.url + '/s/team-a/api/actions/connector/llm', timeout=10).json()
    assert llm['config']['defaultModel'] == 'gpt-4.1'
    assert second.stored_secrets('llm', space='team-a') == {'apiKey': 'sk-state'}
    listed = requests.get(second.url + '/api/actions/connectors', timeout=10).json()
    assert [(c['id'], c['referenced_by_count']) for c in listed] == [('idx', 4)]


def test_reset_clears_the_state_file(kibana_sim_factory, tmp_path):
    state = tmp_path / 'state.json'
    sim = kibana_sim_factory('--state-file', str(state))
    requests.post(sim.url + '/api/actions/connector/idx', json=INDEX, headers=XSRF, timeout=10)
    sim.reset()
    sim.stop()
    again = kibana_sim_factory('--state-file', str(state))
    assert requests.get(again.url + '/api/actions/connectors', timeout=10).json() == []


# --- listen backlog (issue 13) -----------------------------------------------------------------------------

def _raw_get(sock, path):
    sock.sendall(('GET %s HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n' % path).encode())
    data = b''
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_a_hundred_concurrent_clients_all_get_answers(kibana_sim_factory):
    """Python's default backlog of 5 resets connections at 32-100 clients. The simulator process is
    stopped while 100 clients connect at once, so every handshake has to wait in the kernel's accept
    queue (the backlog); then it resumes and every client must get its answer."""
    sim = kibana_sim_factory()
    host, port = sim.url.split('//')[1].split(':')
    clients = 100
    barrier = threading.Barrier(clients)
    socks, errors = [None] * clients, []

    def connect(i):
        barrier.wait()
        try:
            socks[i] = socket.create_connection((host, int(port)), timeout=15)
        except OSError as e:
            errors.append('%d: %s' % (i, e))

    os.kill(sim.proc.pid, signal.SIGSTOP)  # the simulator accepts nothing while stopped
    try:
        threads = [threading.Thread(target=connect, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.kill(sim.proc.pid, signal.SIGCONT)
    assert not errors, errors
    answers = []
    for sock in socks:
        try:
            answers.append(_raw_get(sock, '/api/status').split(b'\r\n', 1)[0])
        finally:
            sock.close()
    assert answers == [b'HTTP/1.1 200 OK'] * clients
    assert sim.stats()['total'] == clients  # every one of them reached the simulator

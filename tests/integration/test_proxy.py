"""Kibana through a real forward proxy (Debian's tinyproxy, started by the test): the proxy_url option,
HTTPS_PROXY / HTTP_PROXY / NO_PROXY and REQUESTS_CA_BUNDLE from the environment, over http and https.

A recording relay sits between the modules and tinyproxy and keeps every byte the proxy receives, so the
test sees what the proxy (and its logs) could see: for https, the CONNECT line and encrypted bytes only,
never the API key or a connector secret; for http, everything (which is why the module warns).
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

import harness
import pki_factory

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not shutil.which('tinyproxy') and not os.path.exists('/usr/bin/tinyproxy'),
                                 reason='tinyproxy is not installed (make system-deps installs it)')]

API_KEY = 'CANARY-proxy-kibana-key-5e1d'
LLM_SECRET = 'CANARY-proxy-llm-secret-77aa'
PROXY_USER, PROXY_PASSWORD = 'proxyuser', 'CANARY-proxy-password-3c9f'


class TinyProxy(object):
    """tinyproxy in the foreground on a loopback port, logging to a file; optionally with basic auth."""

    def __init__(self, folder, auth=False):
        self.folder = folder
        self.port = harness.free_port()
        self.log_path = os.path.join(folder, 'tinyproxy.log')
        conf = os.path.join(folder, 'tinyproxy.conf')
        lines = ['Port %d' % self.port, 'Listen 127.0.0.1', 'Timeout 60', 'LogLevel Info', 'MaxClients 50',
                 'LogFile "%s"' % self.log_path, 'PidFile "%s"' % os.path.join(folder, 'tinyproxy.pid'),
                 'Allow 127.0.0.1']
        if auth:
            lines.append('BasicAuth %s %s' % (PROXY_USER, PROXY_PASSWORD))
        with open(conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        binary = shutil.which('tinyproxy') or '/usr/bin/tinyproxy'
        self.proc = subprocess.Popen([binary, '-d', '-c', conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError('tinyproxy did not start: %s' % self.log())

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except IOError:
            return ''

    def requests(self):
        """The request lines tinyproxy logged, such as 'CONNECT 127.0.0.1:5601 HTTP/1.1'."""
        return [line.split('): ', 1)[1] for line in self.log().splitlines() if 'Request (file descriptor' in line]

    def stop(self):
        harness.stop_process(self.proc)


class Recorder(object):
    """A TCP relay in front of the proxy that keeps what clients send it (what the proxy can read)."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.received = bytearray()
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.bind(('127.0.0.1', 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _addr = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(('127.0.0.1', self.target_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record:
                    with self.lock:
                        self.received.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def seen(self):
        with self.lock:
            return bytes(self.received)

    def close(self):
        self.server.close()


@pytest.fixture
def proxy_factory(tmp_path):
    started = []

    def start(auth=False):
        folder = tmp_path / ('proxy-%d' % len(started))
        folder.mkdir()
        tiny = TinyProxy(str(folder), auth=auth)
        recorder = Recorder(tiny.port)
        started.append((tiny, recorder))
        return tiny, recorder

    yield start
    for tiny, recorder in started:
        recorder.close()
        tiny.stop()


def forms(value):
    """A secret as a request could carry it: as is, and base64 (basic auth, Kibana's PKI fields)."""
    raw = value.encode()
    return [raw, base64.b64encode(raw), base64.b64encode(b'x:' + raw)[4:]]


def connector_play(url, **connection):
    """ansible-playbook arguments: one .gen-ai connector with a secret, through the kibana action group's
    connection options. Secret values go in as variables: Ansible quotes playbook lines in its error messages."""
    secrets = dict(api_key=connection.pop('api_key'), llm_secret=LLM_SECRET)
    if connection.get('proxy_url'):
        secrets['proxy_address'] = connection.pop('proxy_url')
        connection['proxy_url'] = '{{ proxy_address }}'
    options = dict(kibana_url=url, api_key='{{ api_key }}', **connection)
    playbook = '''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/kibana_gitops.connectors.kibana: %s
  tasks:
    - name: A connector with a secret
      kibana_gitops.connectors.connector:
        connector_id: proxied-llm
        name: LLM through the proxy
        connector_type_id: .gen-ai
        config: {apiProvider: OpenAI, apiUrl: "https://api.openai.com/v1/chat/completions"}
        secrets: {apiKey: "{{ llm_secret }}"}
''' % json.dumps(options)
    return {'playbook': playbook, 'extra_vars': secrets}


@pytest.fixture
def tls_files(tmp_path):
    ca = pki_factory.CA('Proxy Test CA')
    server = ca.issue('localhost', server=True)
    paths = server.write(tmp_path, prefix='server')
    return paths


def test_https_through_proxy_url_with_proxy_auth_hides_every_credential(kibana_sim_factory, proxy_factory, tls_files):
    sim = kibana_sim_factory('--api-key', API_KEY, '--tls-cert', tls_files['certificate'],
                             '--tls-key', tls_files['private_key'])
    tiny, recorder = proxy_factory(auth=True)
    proxy_url = 'http://%s:%s@127.0.0.1:%d' % (PROXY_USER, PROXY_PASSWORD, recorder.port)
    play = harness.run_playbook(**connector_play(sim.url, api_key=API_KEY, ca_path=tls_files['ca'], proxy_url=proxy_url),
                                verbosity=3, canaries=(API_KEY, LLM_SECRET, PROXY_PASSWORD))
    assert play.rc == 0, play
    assert sim.stored_secrets('proxied-llm') == {'apiKey': LLM_SECRET}
    port = sim.url.rsplit(':', 1)[1]
    assert tiny.requests() and all(r.startswith('CONNECT 127.0.0.1:%s HTTP/' % port) for r in tiny.requests()), tiny.log()
    seen = recorder.seen()
    assert seen.startswith(b'CONNECT 127.0.0.1:%s HTTP/' % port.encode())
    for secret in (API_KEY, LLM_SECRET):
        assert not any(f in seen for f in forms(secret)), 'the proxy received %s' % secret
        assert secret not in tiny.log()
    # a wrong proxy password: refused by the proxy, and the message names neither password
    wrong = 'CANARY-wrong-proxy-password-0b0b'
    play = harness.run_playbook(**connector_play(sim.url, api_key=API_KEY, ca_path=tls_files['ca'], retries=0,
                                                 proxy_url=proxy_url.replace(PROXY_PASSWORD, wrong)),
                                canaries=(API_KEY, LLM_SECRET, PROXY_PASSWORD, wrong))
    assert play.rc != 0 and 'through the proxy' in play.stdout, play


def test_http_through_http_proxy_env_warns_and_no_proxy_bypasses(kibana_sim_factory, proxy_factory):
    sim = kibana_sim_factory('--api-key', API_KEY)
    tiny, recorder = proxy_factory()
    env = {'HTTP_PROXY': recorder.url}
    play = harness.run_playbook(**connector_play(sim.url, api_key=API_KEY), env=env, canaries=(API_KEY, LLM_SECRET))
    assert play.rc == 0, play
    assert sim.stored_secrets('proxied-llm') == {'apiKey': LLM_SECRET}
    via_proxy = tiny.requests()
    assert 'GET %s/api/actions/connector/proxied-llm HTTP/1.1' % sim.url in via_proxy, tiny.log()
    assert 'POST %s/api/actions/connector/proxied-llm HTTP/1.1' % sim.url in via_proxy, tiny.log()
    # over http the proxy reads everything, hence the warning
    assert API_KEY.encode() in recorder.seen()
    assert 'requests go through the proxy http://127.0.0.1:%d' % recorder.port in play.output, play

    # NO_PROXY names Kibana's host: straight to Kibana, the proxy sees nothing more
    env['NO_PROXY'] = 'localhost,127.0.0.1'
    play = harness.run_playbook(**connector_play(sim.url, api_key=API_KEY), env=env, canaries=(API_KEY, LLM_SECRET))
    assert play.rc == 0, play
    assert tiny.requests() == via_proxy


def test_https_proxy_and_ca_bundle_from_the_environment(kibana_sim_factory, proxy_factory, tls_files):
    sim = kibana_sim_factory('--api-key', API_KEY, '--tls-cert', tls_files['certificate'],
                             '--tls-key', tls_files['private_key'])
    tiny, recorder = proxy_factory()
    env = {'HTTPS_PROXY': recorder.url}
    # without the CA, Kibana's certificate is not trusted (the proxy relayed the attempt)
    play = harness.run_playbook(**connector_play(sim.url, api_key=API_KEY, retries=0), env=env,
                                canaries=(API_KEY, LLM_SECRET))
    assert play.rc != 0 and 'TLS error' in play.stdout, play
    assert tiny.requests(), tiny.log()
    env['REQUESTS_CA_BUNDLE'] = tls_files['ca']
    play = harness.run_playbook(**connector_play(sim.url, api_key=API_KEY), env=env, canaries=(API_KEY, LLM_SECRET))
    assert play.rc == 0, play
    assert sim.stored_secrets('proxied-llm') == {'apiKey': LLM_SECRET}
    assert not any(f in recorder.seen() for f in forms(API_KEY))

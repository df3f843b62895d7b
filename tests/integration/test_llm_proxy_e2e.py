"""End to end on loopback with the real Debian nginx.

OpenAI simulator <- nginx configured by the llm_proxy role (mTLS + bearer token) <- a `.gen-ai`
Other connector with PKI, created by the connector module in the Kibana simulator; connector_test
via both passes, streaming included. Then the failures users actually hit, each with its class.

Three nginx masters run under temporary prefixes (role llm_proxy, mode standalone): the proxy,
the same with proxy_buffering on in front of a slow stream, and one whose LLM is down.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import time

import pytest
import requests
import yaml

import harness
import pki_factory

NGINX = shutil.which('nginx') or ('/usr/sbin/nginx' if os.path.exists('/usr/sbin/nginx') else None)
pytestmark = [pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(NGINX is None, reason='nginx is not installed (make system-deps installs it)')]

KIBANA_KEY = 'e2e-kibana-api-key'
TOKEN = 'canary-proxy-token-e2e-0123456789'           # what Kibana sends to the proxy
WRONG_TOKEN = 'canary-wrong-proxy-token-9876543210'
UPSTREAM_KEY = 'canary-upstream-llm-key-13579'       # what the proxy sends to the LLM
CANARIES = [TOKEN, WRONG_TOKEN, UPSTREAM_KEY]


def b64(text):
    return base64.b64encode(text.encode()).decode()


def run_role(tmp, instances, **kw):
    """One play, one inventory host per instance (all local), so the instances are set up in parallel."""
    inventory = os.path.join(tmp, 'proxies-%d.yml' % len(os.listdir(tmp)))
    hosts = dict((i['llm_proxy_name'], dict(i, ansible_connection='local')) for i in instances)
    with open(inventory, 'w') as f:
        yaml.safe_dump({'proxies': {'hosts': hosts}}, f)
    play = [{'name': 'llm_proxy', 'hosts': 'proxies', 'gather_facts': False,
             'roles': ['kibana_gitops.connectors.llm_proxy']}]
    return harness.run_playbook(yaml.safe_dump(play), inventory=inventory, canaries=CANARIES, **kw)


def stop_nginx(prefix):
    pid_file = os.path.join(prefix, 'run', 'nginx.pid')
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
    except (IOError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)  # fast shutdown: do not wait for keep-alive clients
    except ProcessLookupError:
        return
    for _attempt in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope='module')
def stack():
    tmp = tempfile.mkdtemp(prefix='kgc-e2e-')
    started, prefixes = [], []
    try:
        ca = pki_factory.CA('LLM Proxy Test CA')
        other_ca = pki_factory.CA('Somebody Else CA')
        server = ca.issue('localhost', server=True).write(tmp, prefix='server')
        client = ca.issue('kibana-llm-client')
        client_files = client.write(tmp, prefix='client')
        stranger = other_ca.issue('stranger-client')

        llm = harness.Simulator('openai', ['--api-key', UPSTREAM_KEY, '--model', 'llama3.1', '--model', 'gpt-4.1'])
        started.append(llm)
        slow_llm = harness.Simulator('openai', ['--api-key', UPSTREAM_KEY, '--model', 'llama3.1',
                                                '--chunk-delay-ms', '60'])
        started.append(slow_llm)
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            dead_port = s.getsockname()[1]  # closed again when the block ends: nothing listens there

        def instance(name, upstream, **extra):
            prefix = os.path.join(tmp, name)
            prefixes.append(prefix)
            inst = {'llm_proxy_name': name, 'llm_proxy_mode': 'standalone', 'llm_proxy_install_package': False,
                    'llm_proxy_nginx_binary': NGINX, 'llm_proxy_prefix': prefix,
                    'llm_proxy_listen_address': '127.0.0.1', 'llm_proxy_port': harness.free_port(),
                    'llm_proxy_upstream_url': upstream, 'llm_proxy_tls_certificate': server['certificate'],
                    'llm_proxy_tls_certificate_key': server['private_key'], 'llm_proxy_auth': ['token', 'mtls'],
                    'llm_proxy_tokens': [TOKEN], 'llm_proxy_client_ca': server['ca'],
                    'llm_proxy_upstream_api_key': UPSTREAM_KEY}
            inst.update(extra)
            return inst

        instances = [instance('proxy', llm.url), instance('buffering', slow_llm.url, llm_proxy_proxy_buffering=True),
                     instance('deadend', 'http://127.0.0.1:%d' % dead_port)]
        first = run_role(tmp, instances, diff=True)
        assert first.rc == 0, first
        kibana = harness.Simulator('kibana', ['--api-key', KIBANA_KEY])
        started.append(kibana)
        urls = dict((i['llm_proxy_name'], 'https://127.0.0.1:%d' % i['llm_proxy_port']) for i in instances)
        yield {'tmp': tmp, 'ca': ca, 'client': client, 'client_files': client_files, 'stranger': stranger,
               'other_ca': other_ca, 'server': server, 'llm': llm, 'slow_llm': slow_llm, 'kibana': kibana,
               'instances': instances, 'urls': urls, 'first_run': first, 'dead_port': dead_port}
    finally:
        for prefix in prefixes:
            stop_nginx(prefix)
        for sim in started:
            sim.stop()
        shutil.rmtree(tmp, True)


# ------------------------------------------------------------------ the role
def test_role_second_run_changes_nothing_and_check_mode_writes_nothing(stack):
    assert stack['first_run'].stdout.split('PLAY RECAP')[-1].count('changed=0') == 0
    again = run_role(stack['tmp'], stack['instances'])
    assert again.rc == 0, again
    recap = again.stdout.split('PLAY RECAP')[-1]
    assert recap.count('changed=0') == 3 and recap.count('failed=0') == 3, again

    site = os.path.join(stack['instances'][0]['llm_proxy_prefix'], 'conf', 'proxy.conf')
    before = open(site).read()
    changed = dict(stack['instances'][0], llm_proxy_read_timeout=900)
    check = run_role(stack['tmp'], [changed], check=True, diff=True)
    assert check.rc == 0, check
    assert 'proxy_read_timeout 900s' in check.stdout  # the diff shows what would change
    assert re.search(r'changed=[1-9]', check.stdout.split('PLAY RECAP')[-1])
    assert open(site).read() == before


def test_role_writes_sse_safe_config_and_keeps_secrets_in_a_private_file(stack):
    inst = stack['instances'][0]
    site = open(os.path.join(inst['llm_proxy_prefix'], 'conf', 'proxy.conf')).read()
    for line in ('proxy_buffering off;', 'proxy_http_version 1.1;', 'proxy_set_header Connection "";',
                 'proxy_read_timeout 600s;', 'ssl_verify_client on;'):
        assert line in site
    assert TOKEN not in site and UPSTREAM_KEY not in site
    auth = os.path.join(inst['llm_proxy_prefix'], 'secrets', 'proxy.auth.conf')
    assert oct(os.stat(auth).st_mode & 0o777) == '0o600'
    assert re.escape(TOKEN) in open(auth).read()  # as a case-sensitive regex entry of the map
    buffering = open(os.path.join(stack['instances'][1]['llm_proxy_prefix'], 'conf', 'buffering.conf')).read()
    assert 'proxy_buffering on;' in buffering
    assert not [f for f in os.listdir(os.path.join(inst['llm_proxy_prefix'], 'secrets')) if '~' in f]  # no backups


def test_a_configuration_nginx_rejects_is_rolled_back(stack):
    inst = dict(stack['instances'][0], llm_proxy_client_max_body_size='20 m')  # invalid nginx syntax
    site = os.path.join(inst['llm_proxy_prefix'], 'conf', 'proxy.conf')
    before = open(site).read()
    res = run_role(stack['tmp'], [inst])
    assert res.rc != 0
    assert 'nginx rejected the new configuration of proxy; the previous files are back in place' in res.output
    assert open(site).read() == before
    assert requests.get(stack['urls']['proxy'] + '/v1/models', verify=stack['server']['ca'], timeout=10,
                        cert=(stack['client_files']['certificate'], stack['client_files']['private_key']),
                        headers={'Authorization': 'Bearer ' + TOKEN}).status_code == 200


def test_proxy_enforces_client_certificate_and_token_and_swaps_in_the_upstream_key(stack):
    url = stack['urls']['proxy'] + '/v1/chat/completions'
    body = {'model': 'llama3.1', 'messages': [{'role': 'user', 'content': 'Hello world'}]}
    cert = (stack['client_files']['certificate'], stack['client_files']['private_key'])
    ca = stack['server']['ca']
    ok = requests.post(url, json=body, cert=cert, verify=ca, headers={'Authorization': 'Bearer ' + TOKEN}, timeout=10)
    assert ok.status_code == 200 and ok.json()['usage']['total_tokens'] == 10
    assert stack['llm'].sim('GET', '/_sim/requests')[1][-1]['headers']['Authorization'] == 'Bearer ' + UPSTREAM_KEY
    no_cert = requests.post(url, json=body, verify=ca, headers={'Authorization': 'Bearer ' + TOKEN}, timeout=10)
    assert no_cert.status_code == 400 and 'No required SSL certificate was sent' in no_cert.text
    bad_token = requests.post(url, json=body, cert=cert, verify=ca, headers={'Authorization': 'Bearer x' * 3},
                              timeout=10)
    assert bad_token.status_code == 401 and bad_token.json()['error']['code'] == 'invalid_api_key'
    case = requests.post(url, json=body, cert=cert, verify=ca, headers={'Authorization': 'Bearer ' + TOKEN.upper()},
                         timeout=10)
    assert case.status_code == 401  # tokens are compared exactly


# ------------------------------------------------------------------ connector + connector_test, both ways
def test_pki_connector_created_by_the_connector_module_passes_both_ways_with_streaming(stack):
    kibana, files = stack['kibana'], stack['client_files']
    spec = {'connector_id': 'local-llm', 'name': 'Local LLM behind nginx', 'connector_type_id': '.gen-ai',
            'config': {'apiProvider': 'Other', 'apiUrl': stack['urls']['proxy'] + '/v1/chat/completions',
                       'defaultModel': 'llama3.1', 'verificationMode': 'full'},
            'secrets': {'apiKey': TOKEN},
            'pki': {'certificate': files['certificate'], 'private_key': files['private_key'], 'ca': files['ca']}}
    report = os.path.join(stack['tmp'], 'reports')
    play = [{'hosts': 'localhost', 'gather_facts': False,
             'module_defaults': {'group/kibana_gitops.connectors.kibana': {'kibana_url': kibana.url,
                                                                           'api_key': KIBANA_KEY}},
             'tasks': [{'kibana_gitops.connectors.connector': spec},
                       {'kibana_gitops.connectors.connector_test': {
                           'specs': [spec], 'via': 'both', 'junit_path': report + '/junit.xml',
                           'markdown_path': report + '/summary.md'}, 'register': 't'},
                       {'ansible.builtin.copy': {'content': '{{ t | to_json }}', 'dest': report + '/t.json'}}]}]
    res = harness.run_playbook(yaml.safe_dump(play), canaries=CANARIES, verbosity=2, diff=True)
    assert res.rc == 0, res
    result = json.load(open(report + '/t.json'))['results'][0]
    assert result['status'] == 'ok', result
    stages = dict(((s['via'], s['name']), s) for s in result['stages'])
    assert stages[('kibana', 'kibana_test')]['status'] == 'ok'
    assert 'client certificate offered' in stages[('direct', 'tls')]['detail']
    assert stages[('direct', 'stream')]['status'] == 'ok'
    assert stages[('direct', 'stream')]['reads'] > 2  # the events came through nginx one by one
    # out of band: Kibana stored the PKI material the connector module encoded, and really called the LLM
    stored = kibana.stored_secrets('local-llm')
    assert base64.b64decode(stored['certificateData']).decode() == stack['client'].cert_pem
    assert kibana.stats()['paths']['POST /api/actions/connector/local-llm/_execute'] == 1
    for name in ('junit.xml', 'summary.md'):
        text = open(os.path.join(report, name)).read()
        assert TOKEN not in text and 'local-llm' in text


def negative_specs(stack):
    client, ca = stack['client'], stack['ca']
    pki = {'certificateData': b64(client.cert_pem), 'privateKeyData': b64(client.key_pem()), 'caData': b64(ca.cert_pem)}
    stranger = {'certificateData': b64(stack['stranger'].cert_pem), 'privateKeyData': b64(stack['stranger'].key_pem()),
                'caData': b64(ca.cert_pem)}
    untrusted = dict(pki, caData=b64(stack['other_ca'].cert_pem))
    urls = stack['urls']

    def other(cid, url, secrets, **config):
        conf = {'apiProvider': 'Other', 'apiUrl': url + '/v1/chat/completions', 'defaultModel': 'llama3.1',
                'verificationMode': 'full'}
        conf.update(config)
        return {'connector_id': cid, 'name': cid, 'connector_type_id': '.gen-ai', 'config': conf, 'secrets': secrets}

    return [
        (other('stranger-cert', urls['proxy'], dict(stranger, apiKey=TOKEN)), 'tls_client_cert'),
        # without verificationMode Kibana ignores the PKI material, caData included: the proxy is not trusted
        (other('pki-ignored', urls['proxy'], dict(pki, apiKey=TOKEN), verificationMode=None), 'tls_server'),
        (other('wrong-token', urls['proxy'], dict(pki, apiKey=WRONG_TOKEN)), 'auth'),
        (other('unknown-model', urls['proxy'], dict(pki, apiKey=TOKEN), defaultModel='mistral-large'),
         'model_not_found'),
        (other('llm-down', urls['deadend'], dict(pki, apiKey=TOKEN)), 'upstream_error'),
        (other('proxy-down', 'https://127.0.0.1:%d' % stack['dead_port'], dict(pki, apiKey=TOKEN)), 'connect'),
        (other('buffered', urls['buffering'], dict(pki, apiKey=TOKEN)), 'stream_buffered'),
        (other('untrusted-full', urls['proxy'], dict(untrusted, apiKey=TOKEN)), 'tls_server'),
        (other('untrusted-none', urls['proxy'], dict(untrusted, apiKey=TOKEN), verificationMode='none'), None),
        ({'connector_id': 'openai-provider', 'name': 'OpenAI provider at the simulator', 'connector_type_id': '.gen-ai',
          'config': {'apiProvider': 'OpenAI', 'apiUrl': stack['llm'].url + '/v1/chat/completions'},
          'secrets': {'apiKey': UPSTREAM_KEY}}, None),
    ]


def test_each_failure_is_classified_with_a_hint_both_ways(stack):
    kibana = stack['kibana']
    cases = negative_specs(stack)
    specs = []
    for spec, _klass in cases:
        spec['config'] = dict((k, v) for k, v in spec['config'].items() if v is not None)
        status, body = kibana.api('POST', '/api/actions/connector/%s' % spec['connector_id'],
                                  {'name': spec['name'], 'connector_type_id': '.gen-ai', 'config': spec['config'],
                                   'secrets': spec['secrets']}, api_key=KIBANA_KEY)
        assert status == 200, body
        specs.append(spec)
    out = os.path.join(stack['tmp'], 'negative.json')
    play = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'kibana_gitops.connectors.connector_test': {'kibana_url': kibana.url, 'api_key': KIBANA_KEY, 'specs': specs,
                                                     'via': 'both', 'probe_timeout': 15, 'max_concurrency': 4},
         'register': 't', 'ignore_errors': True},
        {'ansible.builtin.copy': {'content': '{{ t | to_json }}', 'dest': out}}]}]
    key_canary = b64(stack['client'].key_pem())[120:180]  # a piece of privateKeyData as Kibana stores it
    res = harness.run_playbook(yaml.safe_dump(play), canaries=CANARIES + [key_canary], verbosity=3)
    assert res.rc == 0, res
    task = json.load(open(out))
    assert task['failed'] is True  # fail_on_error: any failed connector fails the task
    by_id = dict((r['connector_id'], r) for r in task['results'])
    for spec, klass in cases:
        result = by_id[spec['connector_id']]
        if klass is None:
            assert result['status'] == 'ok', (spec['connector_id'], result['message'])
        else:
            got = (spec['connector_id'], result['status'], result['class'])
            assert got == (spec['connector_id'], 'failed', klass), result['message']
            assert result['hint']
    # Kibana's own view of the same failures, judged from its HTTP 200 bodies
    kib = dict((cid, next(s for s in by_id[cid]['stages'] if s['via'] == 'kibana')) for cid in by_id)
    assert kib['wrong-token']['class'] == 'auth'
    assert kib['unknown-model']['class'] == 'model_not_found'
    assert kib['untrusted-full']['class'] == 'tls_server'
    assert kib['untrusted-none']['status'] == 'ok'
    assert kib['buffered']['status'] == 'ok'  # Kibana's test does not stream: only the direct probe sees it
    assert kib['llm-down']['class'] == 'upstream_error'
    assert kib['proxy-down']['class'] == 'connect'
    assert 'verificationMode' in by_id['pki-ignored']['hint']
    assert 'buffer' in by_id['buffered']['hint']


def test_no_client_certificate_is_reported_as_such(stack):
    """A connector with an API key only, in front of an mTLS proxy (the controller trusts the proxy's CA)."""
    spec = {'connector_id': 'no-cert', 'name': 'no-cert', 'connector_type_id': '.gen-ai',
            'config': {'apiProvider': 'Other', 'apiUrl': stack['urls']['proxy'] + '/v1/chat/completions',
                       'defaultModel': 'llama3.1'}, 'secrets': {'apiKey': TOKEN}}
    out = os.path.join(stack['tmp'], 'no-cert.json')
    play = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'kibana_gitops.connectors.connector_test': {'specs': [spec], 'via': 'direct', 'fail_on_error': False,
                                                     'upstream_ca_path': stack['server']['ca']}, 'register': 't'},
        {'ansible.builtin.copy': {'content': '{{ t | to_json }}', 'dest': out}}]}]
    res = harness.run_playbook(yaml.safe_dump(play), canaries=CANARIES)
    assert res.rc == 0, res
    result = json.load(open(out))['results'][0]
    assert (result['status'], result['class']) == ('failed', 'tls_client_cert')
    assert 'No required SSL certificate was sent' in result['message']
    assert next(s for s in result['stages'] if s['name'] == 'tls')['status'] == 'ok'


def test_state_absent_stops_the_standalone_nginx_and_removes_its_files(stack):
    inst = dict(stack['instances'][2], llm_proxy_state='absent', llm_proxy_tls_certificate='',
                llm_proxy_tls_certificate_key='')
    prefix = inst['llm_proxy_prefix']
    with open(os.path.join(prefix, 'run', 'nginx.pid')) as f:
        pid = int(f.read())
    res = run_role(stack['tmp'], [inst])
    assert res.rc == 0, res
    for _attempt in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail('nginx %d still runs' % pid)
    assert not os.path.exists(os.path.join(prefix, 'conf', 'deadend.conf'))
    assert os.listdir(os.path.join(prefix, 'secrets')) == []
    assert 'changed=0' in run_role(stack['tmp'], [inst]).stdout.split('PLAY RECAP')[-1]
    # and back, for the tests that use this proxy after this one (in the same worker)
    assert run_role(stack['tmp'], [stack['instances'][2]]).rc == 0
    assert os.path.exists(os.path.join(prefix, 'run', 'nginx.pid'))

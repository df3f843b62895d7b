"""tests/simulators/kibana/execute.py: Kibana's `_execute` for `.gen-ai`, against a real upstream.

The function is called in-process (it is the simulator's executor; the route only finds the
connector and passes it on) and talks to the OpenAI simulator over real HTTP(S) on loopback.
"""
import base64
import importlib.util
import json
import os
import socket

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

import harness

pytestmark = pytest.mark.integration

_spec = importlib.util.spec_from_file_location(
    'kibana_sim_execute', os.path.join(harness.SIMULATORS, 'kibana', 'execute.py'))
execute_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute_mod)

SETTINGS = {'allowed_hosts': ['*'], 'kibana_version': '9.2.0'}
TEST_BODY = json.dumps({'messages': [{'role': 'user', 'content': 'Hello world'}]})
API_KEY = 'canary-exec-key-0001'


def connector(config, cid='c1'):
    return {'id': cid, 'name': 'LLM', 'connector_type_id': '.gen-ai', 'config': config, 'is_preconfigured': False}


def other(url, **extra):
    return dict({'apiProvider': 'Other', 'apiUrl': url, 'defaultModel': 'llama3.1'}, **extra)


def run(conn, secrets, params, settings=None):
    status, body = execute_mod.execute(conn, secrets, params, SETTINGS if settings is None else settings)
    assert status == 200
    return body


def exec_params(body=TEST_BODY, sub_action='test', **extra):
    return {'subAction': sub_action, 'subActionParams': dict({'body': body}, **extra)}


def last_request(sim):
    return sim.sim('GET', '/_sim/requests')[1][-1]


def b64(pem_bytes):
    return base64.b64encode(pem_bytes).decode()


def pkcs8(key_pem):
    # Kibana only takes PKCS#8 ("BEGIN PRIVATE KEY") or PKCS#1 RSA keys; trustme writes SEC1 EC keys
    key = serialization.load_pem_private_key(key_pem, password=None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


# ------------------------------------------------------------------ success and what goes upstream
def test_other_provider_test_subaction_reaches_exactly_api_url_with_kibana_headers(openai_sim_factory):
    sim = openai_sim_factory('--api-key', API_KEY, '--model', 'llama3.1')
    config = other(sim.url + '/v1/chat/completions', headers={'X-Team': 'sre'})
    body = run(connector(config), {'apiKey': API_KEY}, exec_params())
    assert body['status'] == 'ok'
    assert body['connector_id'] == 'c1'
    assert body['data']['usage']['total_tokens'] == 10
    assert body['data']['choices'][0]['message']['role'] == 'assistant'
    assert 'retry' not in body
    req = last_request(sim)
    assert req['path'] == '/v1/chat/completions'
    assert req['headers']['Authorization'] == 'Bearer %s' % API_KEY
    assert req['headers']['X-Team'] == 'sre'
    assert req['headers']['content-type'] == 'application/json'
    # Other: stream forced off, the default model filled in
    assert json.loads(req['body']) == {'messages': [{'role': 'user', 'content': 'Hello world'}],
                                       'stream': False, 'model': 'llama3.1'}


def test_openai_provider_sends_org_and_project_and_keeps_body_on_a_non_official_url(openai_sim_factory):
    sim = openai_sim_factory()
    config = {'apiProvider': 'OpenAI', 'apiUrl': sim.url + '/v1/chat/completions', 'defaultModel': 'gpt-4.1',
              'organizationId': 'org-1', 'projectId': 'proj-1'}
    sent = json.dumps({'model': 'gpt-4o', 'messages': [{'role': 'user', 'content': 'Hi'}], 'tool_choice': 'auto'})
    body = run(connector(config), {'apiKey': API_KEY}, exec_params(sent, sub_action='run'))
    assert body['status'] == 'ok'
    req = last_request(sim)
    assert req['headers']['OpenAI-Organization'] == 'org-1'
    assert req['headers']['OpenAI-Project'] == 'proj-1'
    # not an official URL: no stream key added; tool_choice without tools removed
    assert json.loads(req['body']) == {'model': 'gpt-4o', 'messages': [{'role': 'user', 'content': 'Hi'}]}


def test_azure_uses_api_key_header_and_keeps_the_query(openai_sim_factory):
    sim = openai_sim_factory('--api-key', API_KEY)
    url = sim.url + '/openai/deployments/gpt4/chat/completions?api-version=2024-02-01'
    body = run(connector({'apiProvider': 'Azure OpenAI', 'apiUrl': url}), {'apiKey': API_KEY},
               exec_params(json.dumps({'model': 'gpt-4.1', 'messages': [{'role': 'user', 'content': 'Hi'}]})))
    assert body['status'] == 'ok'
    req = last_request(sim)
    assert req['path'] == '/openai/deployments/gpt4/chat/completions?api-version=2024-02-01'
    assert req['headers']['api-key'] == API_KEY
    assert 'Authorization' not in req['headers']


def test_trailing_slash_and_double_slashes_are_normalised(openai_sim_factory):
    sim = openai_sim_factory()
    body = run(connector(other(sim.url + '//v1//chat/completions/')), {'apiKey': API_KEY}, exec_params())
    assert body['status'] == 'ok'
    assert last_request(sim)['path'] == '/v1/chat/completions'


def test_invoke_ai_returns_message_and_usage(openai_sim_factory):
    sim = openai_sim_factory()
    params = {'subAction': 'invokeAI', 'subActionParams': {'messages': [{'role': 'user', 'content': 'Hi'}]}}
    body = run(connector(other(sim.url + '/v1/chat/completions')), {'apiKey': API_KEY}, params)
    assert body['data'] == {'message': 'Hello there! How may I assist you today?',
                            'usage': {'prompt_tokens': 1, 'completion_tokens': 8, 'total_tokens': 9}}


# ------------------------------------------------------------------ framework-level errors
@pytest.mark.parametrize('version,text', [
    ('9.2.0', 'error validating action params: [subAction]: expected value of type [string] but got [undefined]'),
    ('9.3.0', 'error validating action params: Field "subAction": Required'),
    ('9.4.1', u'error validating action params: \u2716 Invalid input: expected string, received undefined\n'
              u'  \u2192 at subAction'),
])
def test_params_validation_is_200_with_status_error_per_era(version, text):
    body = run(connector(other('http://127.0.0.1:9/v1/chat/completions')), {'apiKey': API_KEY}, {},
               {'allowed_hosts': ['*'], 'kibana_version': version})
    assert body == {'connector_id': 'c1', 'status': 'error', 'message': text, 'retry': False, 'errorSource': 'user'}


def test_unknown_sub_action_and_request_validation():
    conn = connector(other('http://127.0.0.1:9/v1/chat/completions'))
    body = run(conn, {'apiKey': API_KEY}, {'subAction': 'nope'})
    assert body == {'connector_id': 'c1', 'status': 'error', 'message': 'an error occurred while running the action',
                    'service_message': 'Sub action "nope" is not registered. Connector id: c1. Connector name: '
                                       'OpenAI. Connector type: .gen-ai',
                    'retry': True, 'errorSource': 'framework'}
    body = run(conn, {'apiKey': API_KEY}, {'subAction': 'test', 'subActionParams': {}})
    assert body['service_message'] == ('Request validation failed (Error: [body]: expected value of type [string] '
                                       'but got [undefined])')
    assert body['errorSource'] == 'user'
    body = run(conn, {'apiKey': API_KEY}, {'subAction': 'test', 'subActionParams': {'body': {'messages': []}}})
    assert body['service_message'].endswith('[body]: expected value of type [string] but got [Object])')


def test_other_connector_types_answer_honestly():
    slack = {'id': 's1', 'name': 'Slack', 'connector_type_id': '.slack', 'config': {}, 'is_preconfigured': False}
    body = run(slack, {'webhookUrl': 'https://hooks.example.invalid/x'}, {'message': 'hi'})
    assert body['status'] == 'error'
    assert 'does not simulate running .slack connectors' in body['service_message']
    bedrock = dict(slack, id='b1', connector_type_id='.bedrock')
    body = run(bedrock, {}, {})
    assert body['message'].startswith('error validating action params: [subAction]')


def test_allow_list_is_checked_again_at_execution():
    body = run(connector(other('http://llm.internal.example/v1/chat/completions')), {'apiKey': API_KEY},
               exec_params(), {'allowed_hosts': ['other.example'], 'kibana_version': '9.2.0'})
    assert body['service_message'] == ('error configuring connector action: target url '
                                       '"http://llm.internal.example/v1/chat/completions" is not added to the '
                                       'Kibana config xpack.actions.allowedHosts')


# ------------------------------------------------------------------ upstream errors
def test_upstream_http_errors_use_kibanas_texts(openai_sim_factory):
    sim = openai_sim_factory('--api-key', API_KEY, '--model', 'llama3.1', '--unknown-model-status', '422')
    url = sim.url + '/v1/chat/completions'
    body = run(connector(other(url)), {'apiKey': 'wrong-key'}, exec_params())
    assert body['message'] == 'an error occurred while running the action'
    assert body['service_message'] == ('Status code: 401. Message: Unauthorized API Error - Incorrect API key '
                                       'provided. You can find your API key in your account settings.')
    assert body['retry'] is True
    bad_model = json.dumps({'model': 'bad model', 'messages': [{'role': 'user', 'content': 'Hi'}]})
    body = run(connector(other(url)), {'apiKey': API_KEY}, exec_params(bad_model))
    assert body['service_message'] == ('Status code: 422. Message: API Error: Unprocessable Entity - The model '
                                       '`bad model` does not exist')
    sim.sim('POST', '/_sim/config', {'fault': 'status=503:1'})
    body = run(connector(other(url)), {'apiKey': API_KEY}, exec_params())
    assert body['service_message'] == ('Status code: 503. Message: API Error: Service Unavailable - The server had '
                                       'an error while processing your request.')


def test_response_without_usage_fails_validation(openai_sim_factory):
    sim = openai_sim_factory('--fault', 'no_usage')
    body = run(connector(other(sim.url + '/v1/chat/completions')), {'apiKey': API_KEY}, exec_params())
    assert body['service_message'] == ('Response validation failed (Error: [usage]: expected a plain object value, '
                                       'but found [undefined] instead.)')
    sim.sim('POST', '/_sim/config', {'fault': 'not_json'})
    body = run(connector(other(sim.url + '/v1/chat/completions')), {'apiKey': API_KEY}, exec_params())
    assert body['service_message'] == ('Response validation failed (Error: expected a plain object value, but '
                                       'found [string] instead.)')


def test_connection_refused_and_unknown_host():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        body = run(connector(other('http://127.0.0.1:%d/v1/chat/completions' % port)), {'apiKey': API_KEY},
                   exec_params())
    assert body['service_message'] == ('Status code: undefined. Message: Unexpected API Error: ECONNREFUSED - '
                                       'connect ECONNREFUSED 127.0.0.1:%d' % port)
    body = run(connector(other('http://no-such-host.invalid/v1/chat/completions')), {'apiKey': API_KEY},
               exec_params())
    assert body['service_message'].startswith('Status code: undefined. Message: Unexpected API Error: E')
    assert 'no-such-host.invalid' in body['service_message']


def test_timeout_from_sub_action_params(openai_sim_factory):
    sim = openai_sim_factory('--fault', 'hang')
    body = run(connector(other(sim.url + '/v1/chat/completions')), {'apiKey': API_KEY}, exec_params(timeout=300))
    assert body['service_message'] == ('Status code: undefined. Message: Unexpected API Error: ECONNABORTED - '
                                       'timeout of 300ms exceeded')


# ------------------------------------------------------------------ TLS and PKI
@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp('pki')
    ca = trustme.CA()
    server = ca.issue_cert('localhost', '127.0.0.1')
    localhost_only = ca.issue_cert('localhost')
    client = ca.issue_cert('kibana-client', common_name='kibana-client')
    server.private_key_and_cert_chain_pem.write_to_path(str(d / 'server.pem'))
    localhost_only.private_key_and_cert_chain_pem.write_to_path(str(d / 'localhost.pem'))
    ca.cert_pem.write_to_path(str(d / 'ca.pem'))
    return {'dir': d, 'secrets': {'apiKey': API_KEY,
                                  'certificateData': b64(client.cert_chain_pems[0].bytes()),
                                  'privateKeyData': b64(pkcs8(client.private_key_pem.bytes())),
                                  'caData': b64(ca.cert_pem.bytes())}}


def tls_sim(openai_sim_factory, pki, cert='server.pem', require_client_cert=True):
    args = ['--tls-cert', str(pki['dir'] / cert), '--tls-key', str(pki['dir'] / cert)]
    if require_client_cert:
        args += ['--tls-client-ca', str(pki['dir'] / 'ca.pem')]
    return openai_sim_factory(*args)


def test_pki_full_verification_sends_the_client_certificate(openai_sim_factory, pki):
    sim = tls_sim(openai_sim_factory, pki)
    body = run(connector(other(sim.url + '/v1/chat/completions', verificationMode='full')), pki['secrets'],
               exec_params())
    assert body['status'] == 'ok', body


def test_pki_is_ignored_without_verification_mode(openai_sim_factory, pki):
    sim = tls_sim(openai_sim_factory, pki, require_client_cert=False)
    body = run(connector(other(sim.url + '/v1/chat/completions')), pki['secrets'], exec_params())
    # caData not applied: the private CA is unknown to the default trust store
    assert body['service_message'] == (
        'Certificate error: Status code: undefined. Message: Unexpected API Error: UNABLE_TO_VERIFY_LEAF_SIGNATURE - '
        'unable to verify the first certificate. Please check if your PKI certificates are valid or adjust SSL '
        'verification mode.')


def test_pki_is_ignored_for_the_openai_provider(openai_sim_factory, pki):
    sim = tls_sim(openai_sim_factory, pki, require_client_cert=False)
    config = {'apiProvider': 'OpenAI', 'apiUrl': sim.url + '/v1/chat/completions', 'defaultModel': 'gpt-4.1',
              'verificationMode': 'none'}
    body = run(connector(config), pki['secrets'], exec_params())
    assert 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' in body['service_message']


def test_verification_modes_against_a_certificate_without_the_ip(openai_sim_factory, pki):
    # no client CA on the server: it then sends its leaf certificate alone, as most servers do
    sim = tls_sim(openai_sim_factory, pki, cert='localhost.pem', require_client_cert=False)
    url = sim.url + '/v1/chat/completions'  # https://127.0.0.1:port, certificate names only localhost
    body = run(connector(other(url, verificationMode='full')), pki['secrets'], exec_params())
    assert body['service_message'].startswith('TLS handshake failed: Status code: undefined. Message: Unexpected API '
                                              'Error: ERR_TLS_CERT_ALTNAME_INVALID - Hostname/IP does not match '
                                              "certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ")
    assert run(connector(other(url, verificationMode='certificate')), pki['secrets'], exec_params())['status'] == 'ok'
    no_ca = dict(pki['secrets'])
    del no_ca['caData']
    assert run(connector(other(url, verificationMode='none')), no_ca, exec_params())['status'] == 'ok'
    body = run(connector(other(url, verificationMode='certificate')), no_ca, exec_params())
    assert 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' in body['service_message']


def test_missing_client_certificate_is_a_tls_error(openai_sim_factory, pki):
    sim = tls_sim(openai_sim_factory, pki)
    secrets = {'apiKey': API_KEY, 'caData': pki['secrets']['caData']}
    body = run(connector(other(sim.url + '/v1/chat/completions', verificationMode='full')), secrets, exec_params())
    assert body['status'] == 'error'
    assert body['service_message'].startswith('No certificate data provided')


def test_invalid_pki_data_fails_in_the_constructor(openai_sim_factory, pki):
    secrets = dict(pki['secrets'], certificateData=b64(b'not a pem'))
    body = run(connector(other('https://127.0.0.1:9/v1/chat/completions', verificationMode='full')), secrets,
               exec_params())
    assert body['service_message'] == ('Invalid or inaccessible PKI certificates: Invalid Certificate data file '
                                       'format: The file must be a PEM-encoded certificate beginning with '
                                       '"-----BEGIN CERTIFICATE-----".')

"""The Kibana simulator as a real process over loopback HTTP: endpoints, spaces, auth, kbn-xsrf,
route checks, .gen-ai texts (reference §4), preconfigured connectors (§6) and the /_sim/ API."""
import base64
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

import pytest
import requests
import trustme
from cryptography.hazmat.primitives import serialization

import harness

pytestmark = pytest.mark.integration

API_KEY = 'sim-api-key-1'
XSRF = {'kbn-xsrf': 'tests'}
OPENAI = {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'}
GENAI_PREFIX = 'error validating action type config: '
UUID4 = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')


class Client(object):
    """Kibana's API as a plain HTTP client sees it."""

    def __init__(self, sim, api_key=None, auth=None, xsrf=True):
        self.base = sim.url
        self.headers = dict(XSRF) if xsrf else {}
        if api_key:
            self.headers['Authorization'] = 'ApiKey ' + api_key
        self.auth = auth

    def call(self, method, path, body=None, space=None, headers=None, data=None):
        prefix = '/s/%s' % space if space else ''
        all_headers = dict(self.headers, **(headers or {}))
        return requests.request(method, self.base + prefix + path, json=body, data=data, headers=all_headers,
                                auth=self.auth, timeout=10)

    def create(self, body, connector_id=None, space=None):
        path = '/api/actions/connector' + ('/' + connector_id if connector_id else '')
        return self.call('POST', path, body, space)


def genai(name='LLM', config=None, secrets=None):
    return {'name': name, 'connector_type_id': '.gen-ai', 'config': dict(OPENAI) if config is None else config,
            'secrets': {'apiKey': 'sk-canary-1'} if secrets is None else secrets}


def error(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body['statusCode'] == status and set(body) == {'statusCode', 'error', 'message'}
    return body['message']


@pytest.fixture
def kb(kibana_sim_factory):
    return Client(kibana_sim_factory())


# --- endpoints (§1) ------------------------------------------------------------------------------

def test_crud_round_trip(kibana_sim_factory):
    sim = kibana_sim_factory()
    kb = Client(sim)
    created = kb.create(genai())
    assert created.status_code == 200
    body = created.json()
    assert UUID4.match(body['id'])
    assert body == {'id': body['id'], 'name': 'LLM', 'connector_type_id': '.gen-ai',
                    'config': dict(OPENAI, defaultModel='gpt-4.1'), 'is_preconfigured': False,
                    'is_deprecated': False, 'is_missing_secrets': False, 'is_system_action': False,
                    'is_connector_type_deprecated': False}
    assert kb.call('GET', '/api/actions/connector/' + body['id']).json() == body

    updated = kb.call('PUT', '/api/actions/connector/' + body['id'],
                      {'name': 'LLM 2', 'config': dict(OPENAI, defaultModel='gpt-4o'), 'secrets': {'apiKey': 'sk-2'}})
    assert updated.status_code == 200
    assert updated.json()['name'] == 'LLM 2' and updated.json()['config']['defaultModel'] == 'gpt-4o'
    assert sim.stored_secrets(body['id']) == {'apiKey': 'sk-2'}

    deleted = kb.call('DELETE', '/api/actions/connector/' + body['id'])
    assert deleted.status_code == 204 and deleted.content == b''
    assert error(kb.call('GET', '/api/actions/connector/' + body['id']), 404) == \
        'Saved object [action/%s] not found' % body['id']


def test_trailing_slashes_and_204_headers(kb):
    assert UUID4.match(kb.call('POST', '/api/actions/connector/', genai()).json()['id'])
    assert kb.create(genai(), 'slash').status_code == 200
    assert kb.call('GET', '/api/actions/connector/slash/').json()['id'] == 'slash'
    assert len(kb.call('GET', '/api/actions/connectors/').json()) == 2
    deleted = kb.call('DELETE', '/api/actions/connector/slash')
    assert deleted.status_code == 204 and 'Content-Length' not in deleted.headers


def test_create_with_id_and_conflict(kb):
    assert kb.create(genai(), 'my-llm').json()['id'] == 'my-llm'
    assert error(kb.create(genai(), 'my-llm'), 409) == 'Saved object [action/my-llm] conflict'


def test_update_replaces_secrets_and_needs_them(kibana_sim_factory):
    sim = kibana_sim_factory()
    kb = Client(sim)
    kb.create(genai(secrets={'apiKey': 'sk-old'}), 'c1')
    # §1: an update without secrets validates {} and fails for .gen-ai
    resp = kb.call('PUT', '/api/actions/connector/c1', {'name': 'x', 'config': OPENAI})
    assert error(resp, 400) == 'error validating action type secrets: [apiKey]: expected value of type [string] but got [undefined]'
    assert sim.stored_secrets('c1') == {'apiKey': 'sk-old'}
    # config is replaced, not merged: defaultModel falls back to the server default
    kb.call('PUT', '/api/actions/connector/c1',
            {'name': 'x', 'config': dict(OPENAI, defaultModel='m1'), 'secrets': {'apiKey': 'k'}})
    resp = kb.call('PUT', '/api/actions/connector/c1', {'name': 'x', 'config': OPENAI, 'secrets': {'apiKey': 'k'}})
    assert resp.json()['config']['defaultModel'] == 'gpt-4.1'


def test_update_and_delete_of_unknown_ids(kb):
    assert error(kb.call('PUT', '/api/actions/connector/nope', genai()), 400) == \
        '[request body.connector_type_id]: definition for this key is missing'
    assert error(kb.call('PUT', '/api/actions/connector/nope', {'name': 'x', 'config': OPENAI,
                                                                'secrets': {'apiKey': 'k'}}), 404) == \
        'Saved object [action/nope] not found'
    assert error(kb.call('DELETE', '/api/actions/connector/nope'), 404) == 'Saved object [action/nope] not found'


def test_list_sorted_case_insensitively_with_reference_counts(kibana_sim_factory):
    sim = kibana_sim_factory()
    kb = Client(sim)
    for name in ('beta', 'Alpha', 'gamma', 'Delta'):
        kb.create(genai(name=name), name.lower())
    sim.set_references('gamma', 2)
    listed = kb.call('GET', '/api/actions/connectors').json()
    assert [c['name'] for c in listed] == ['Alpha', 'beta', 'Delta', 'gamma']
    assert {c['id']: c['referenced_by_count'] for c in listed} == {'alpha': 0, 'beta': 0, 'delta': 0, 'gamma': 2}


def test_duplicate_names_are_allowed(kb):
    assert kb.create(genai(name='same')).status_code == 200
    assert kb.create(genai(name='same')).status_code == 200
    assert len(kb.call('GET', '/api/actions/connectors').json()) == 2


def test_unknown_type_and_unknown_route(kb):
    body = {'name': 'x', 'connector_type_id': '.nope', 'config': {}, 'secrets': {}}
    assert error(kb.create(body), 400) == 'Action type ".nope" is not registered.'
    assert error(kb.call('GET', '/api/actions/nothing'), 404) == 'Not Found'
    assert error(kb.call('PATCH', '/api/actions/connector/x', {}), 404) == 'Not Found'


def test_status_reports_the_configured_version(kibana_sim_factory):
    status = Client(kibana_sim_factory('--kibana-version', '8.18.1')).call('GET', '/api/status').json()
    assert status['version']['number'] == '8.18.1'
    assert status['version']['build_flavor'] == 'default'
    assert status['status']['overall']['level'] == 'available'
    assert status['name'] and status['uuid']


def test_connector_types_shape_and_feature_filter(kb):
    types = kb.call('GET', '/api/actions/connector_types').json()
    by_id = {t['id']: t for t in types}
    expected = {'.gen-ai', '.bedrock', '.gemini', '.inference', '.webhook', '.cases-webhook', '.slack',
                '.slack_api', '.teams', '.email', '.index', '.server-log', '.pagerduty', '.jira', '.servicenow',
                '.servicenow-sir', '.servicenow-itom', '.opsgenie', '.xmatters', '.tines', '.torq', '.swimlane',
                '.resilient', '.d3security', '.thehive', '.xsoar', '.jira-service-management'}
    assert expected <= set(by_id)
    assert by_id['.gen-ai'] == {'id': '.gen-ai', 'name': 'OpenAI', 'enabled': True, 'enabled_in_config': True,
                                'enabled_in_license': True, 'minimum_license_required': 'enterprise',
                                'supported_feature_ids': by_id['.gen-ai']['supported_feature_ids'],
                                'is_system_action_type': False, 'is_deprecated': False}
    genai_only = kb.call('GET', '/api/actions/connector_types?feature_id=generativeAIForSecurity').json()
    assert '.gen-ai' in {t['id'] for t in genai_only} and '.index' not in {t['id'] for t in genai_only}


def test_enabled_types_gate_creation(kibana_sim_factory):
    kb = Client(kibana_sim_factory('--enabled-types', '.gen-ai,.index'))
    types = {t['id']: t for t in kb.call('GET', '/api/actions/connector_types').json()}
    assert types['.gen-ai']['enabled'] is True
    assert types['.slack']['enabled'] is False and types['.slack']['enabled_in_config'] is False
    resp = kb.create({'name': 's', 'connector_type_id': '.slack', 'secrets': {'webhookUrl': 'https://hooks.example.com'}})
    assert error(resp, 403) == \
        'action type ".slack" is not enabled in the Kibana config xpack.actions.enabledActionTypes'
    # validation comes first (§1.1 step 6 before 7)
    assert error(kb.create({'name': 's', 'connector_type_id': '.slack'}), 400).startswith('error validating')


def test_system_action_ids_and_types(kb):
    assert error(kb.create({'name': 'c', 'connector_type_id': '.cases'}), 400) == \
        'System action creation is forbidden. Action type: .cases.'
    sid = 'system-connector-.cases'
    assert error(kb.call('GET', '/api/actions/connector/' + sid), 404) == 'Connector %s not found' % sid
    assert error(kb.call('PUT', '/api/actions/connector/' + sid, {'name': 'x'}), 400) == \
        'System action %s can not be updated.' % sid
    assert error(kb.call('DELETE', '/api/actions/connector/' + sid), 400) == \
        'System action %s is not allowed to delete.' % sid
    assert error(kb.call('POST', '/api/actions/connector/%s/_execute' % sid, {'params': {}}), 400) == \
        'Execution of system action is not allowed'


def test_servicenow_deprecation_flag(kb):
    base = {'name': 'sn', 'connector_type_id': '.servicenow', 'secrets': {'username': 'u', 'password': 'p'}}
    table_api = kb.create(dict(base, config={'apiUrl': 'https://sn.example.com'})).json()
    assert table_api['config']['usesTableApi'] is True and table_api['is_deprecated'] is True
    modern = kb.create(dict(base, config={'apiUrl': 'https://sn.example.com', 'usesTableApi': False})).json()
    assert modern['is_deprecated'] is False


def test_eight_x_responses_have_no_type_deprecation_field(kibana_sim_factory):
    kb = Client(kibana_sim_factory('--kibana-version', '8.18.0'))
    body = kb.create(genai()).json()
    assert 'is_connector_type_deprecated' not in body
    assert body['config']['defaultModel'] == 'gpt-4'  # §4: 8.x default


# --- _execute -------------------------------------------------------------------------------------

def test_execute_route_checks(kb):
    kb.create(genai(), 'llm')
    assert error(kb.call('POST', '/api/actions/connector/llm/_execute', {}), 400) == \
        '[request body.params]: expected value of type [object] but got [undefined]'
    assert error(kb.call('POST', '/api/actions/connector/nope/_execute', {'params': {}}), 404) == \
        'Saved object [action/nope] not found'
    resp = kb.call('POST', '/api/actions/connector/llm/_execute', {'params': {}})
    assert resp.status_code == 200 and resp.json()['connector_id'] == 'llm'
    assert resp.json()['status'] == 'error'  # params without subAction never succeed


def test_concurrent_first_executes_all_reach_the_executor(kb):
    # The executor module is loaded on first use; parallel first calls must not see it half-loaded.
    kb.create(genai(), 'llm')
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: kb.call('POST', '/api/actions/connector/llm/_execute',
                                                   {'params': {}}).status_code, range(8)))
    assert statuses == [200] * 8


def test_execute_without_execute_module_answers_a_framework_error(tmp_path):
    # A copy of the simulator without execute.py, as before that part existed.
    copy = tmp_path / 'kibana'
    shutil.copytree(os.path.join(harness.SIMULATORS, 'kibana'), str(copy),
                    ignore=shutil.ignore_patterns('execute.py', '__pycache__'))
    proc = subprocess.Popen([sys.executable, str(copy), '--port', '0'], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[-1]
        requests.post(url + '/api/actions/connector/x', json=genai(), headers=XSRF, timeout=10)
        resp = requests.post(url + '/api/actions/connector/x/_execute', json={'params': {'subAction': 'test'}},
                             headers=XSRF, timeout=10)
        assert resp.status_code == 200
        assert resp.json() == {'status': 'error', 'connector_id': 'x',
                               'message': 'an error occurred while running the action',
                               'service_message': '_execute not simulated for .gen-ai', 'retry': False,
                               'errorSource': 'framework'}
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


# --- spaces (§1, §7) --------------------------------------------------------------------------------

def test_spaces_are_isolated(kibana_sim_factory):
    sim = kibana_sim_factory()
    kb = Client(sim)
    assert kb.create(genai(name='in-a'), 'shared-id', space='team-a').status_code == 200
    msg = 'Saved object [action/shared-id] not found'
    assert error(kb.call('GET', '/api/actions/connector/shared-id'), 404) == msg
    assert error(kb.call('GET', '/api/actions/connector/shared-id', space='team-b'), 404) == msg
    assert error(kb.call('PUT', '/api/actions/connector/shared-id', {'name': 'x', 'config': OPENAI,
                                                                     'secrets': {'apiKey': 'k'}}), 404) == msg
    assert error(kb.call('DELETE', '/api/actions/connector/shared-id', space='team-b'), 404) == msg
    assert error(kb.call('POST', '/api/actions/connector/shared-id/_execute', {'params': {}}), 404) == msg
    # ids are per space: the same id can exist in another space
    assert kb.create(genai(name='in-default'), 'shared-id').status_code == 200
    assert [c['name'] for c in kb.call('GET', '/api/actions/connectors', space='team-a').json()] == ['in-a']
    assert [c['name'] for c in kb.call('GET', '/api/actions/connectors').json()] == ['in-default']
    assert kb.call('GET', '/api/actions/connectors', space='team-b').json() == []
    assert sim.stored_secrets('shared-id', space='team-a') == {'apiKey': 'sk-canary-1'}


# --- auth and kbn-xsrf (§1, §7) --------------------------------------------------------------------

UNAUTHORIZED = {'statusCode': 401, 'error': 'Unauthorized', 'message': 'Unauthorized'}


def test_api_key_auth(kibana_sim_factory):
    sim = kibana_sim_factory('--api-key', API_KEY, '--api-key', 'second-key')
    assert Client(sim).call('GET', '/api/actions/connectors').json() == UNAUTHORIZED
    assert Client(sim, api_key='wrong').call('GET', '/api/actions/connectors').status_code == 401
    assert Client(sim, api_key=API_KEY).call('GET', '/api/actions/connectors').json() == []
    assert Client(sim, api_key='second-key').call('GET', '/api/status').status_code == 200
    # auth before route validation
    assert Client(sim).create({}).json() == UNAUTHORIZED
    assert Client(sim, auth=('elastic', 'x')).call('GET', '/api/actions/connectors').status_code == 401


def test_basic_auth(kibana_sim_factory):
    sim = kibana_sim_factory('--username', 'elastic', '--password', 'changeme')
    assert Client(sim, auth=('elastic', 'changeme')).call('GET', '/api/actions/connectors').status_code == 200
    assert Client(sim, auth=('elastic', 'wrong')).call('GET', '/api/actions/connectors').json() == UNAUTHORIZED
    assert Client(sim, auth=('other', 'changeme')).call('GET', '/api/actions/connectors').status_code == 401
    assert Client(sim, api_key='changeme').call('GET', '/api/actions/connectors').status_code == 401


def test_kbn_xsrf_required_on_writes(kibana_sim_factory):
    sim = kibana_sim_factory()
    no_xsrf = Client(sim, xsrf=False)
    msg = 'Request must contain a kbn-xsrf header.'
    assert error(no_xsrf.create(genai(), 'x'), 400) == msg
    assert error(no_xsrf.call('PUT', '/api/actions/connector/x', {'name': 'x'}), 400) == msg
    assert error(no_xsrf.call('DELETE', '/api/actions/connector/x'), 400) == msg
    assert no_xsrf.call('GET', '/api/actions/connectors').status_code == 200
    assert no_xsrf.call('POST', '/api/actions/connector/x', genai(), headers={'kbn-version': '9.2.0'}).status_code == 200
    # xsrf is checked before the route's body validation
    assert error(no_xsrf.create({}), 400) == msg


# --- route checks (§1) -------------------------------------------------------------------------------

@pytest.mark.parametrize('body, message', [
    ({}, '[request body.name]: expected value of type [string] but got [undefined]'),
    ({'name': 5, 'connector_type_id': '.index'}, '[request body.name]: expected value of type [string] but got [number]'),
    ({'name': 'x'}, '[request body.connector_type_id]: expected value of type [string] but got [undefined]'),
    ({'name': '  ', 'connector_type_id': '.index'}, "[request body.name]: value '' is not valid"),
    ({'name': 'x', 'connector_type_id': '.index', 'config': None},
     '[request body.config]: expected value of type [object] but got [null]'),
    ({'name': 'x', 'connector_type_id': '.index', 'config': ['a']},
     '[request body.config]: expected value of type [object] but got [Array]'),
    ({'name': 'x', 'connector_type_id': '.index', 'secrets': 'k'},
     '[request body.secrets]: expected value of type [object] but got [string]'),
    ({'name': 'x', 'connector_type_id': '.webhook', 'config': {'url': 'https://h', 'headers': {'x': ' '}}},
     "[request body.config.headers]: value '' is not valid"),
    ({'name': 'x', 'connector_type_id': '.gen-ai', 'config': OPENAI, 'secrets': {'apiKey': ''}},
     "[request body.secrets.apiKey]: value '' is not valid"),
    ({'name': 'x', 'connector_type_id': '.gen-ai', 'config': OPENAI, 'secrets': {'caData': ['', 'x']}},
     "[request body.secrets.caData]: value '' is not valid"),
    ({'name': 'x', 'connector_type_id': '.index', 'foo': 1}, '[request body.foo]: definition for this key is missing'),
])
def test_create_route_validation(kb, body, message):
    assert error(kb.create(body), 400) == message


def test_null_values_pass_the_empty_string_check(kb):
    body = {'name': 'x', 'connector_type_id': '.index', 'config': {'index': 'i', 'executionTimeField': None}}
    assert kb.create(body).json()['config'] == {'index': 'i', 'refresh': False, 'executionTimeField': None}


def test_invalid_json_body(kb):
    resp = kb.call('POST', '/api/actions/connector', data='{not json', headers={'Content-Type': 'application/json'})
    assert error(resp, 400) == 'Invalid request payload JSON format'


def test_update_route_validation(kb):
    kb.create({'name': 'i', 'connector_type_id': '.index', 'config': {'index': 'a'}}, 'idx')
    assert error(kb.call('PUT', '/api/actions/connector/idx', {'name': 'x', 'config': None}), 400) == \
        '[request body.config]: expected value of type [object] but got [null]'
    assert error(kb.call('PUT', '/api/actions/connector/idx', {'config': {}}), 400) == \
        '[request body.name]: expected value of type [string] but got [undefined]'


# --- .gen-ai (§4) ------------------------------------------------------------------------------------

def pem_b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


@pytest.fixture(scope='module')
def pki():
    ca = trustme.CA()
    cert = ca.issue_cert('client.example.com')
    key = serialization.load_pem_private_key(cert.private_key_pem.bytes(), None)
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    return {'cert': pem_b64(cert.cert_chain_pems[0].bytes()), 'key': pem_b64(pkcs8),
            'ec_key': pem_b64(cert.private_key_pem.bytes()), 'ca': pem_b64(ca.cert_pem.bytes())}


@pytest.mark.parametrize('config, message', [
    ({}, 'types that failed validation:\n'
         '- [0.apiProvider]: expected at least one defined value but got [undefined]\n'
         '- [1.apiProvider]: expected at least one defined value but got [undefined]\n'
         '- [2.apiProvider]: expected at least one defined value but got [undefined]'),
    ({'apiProvider': 'OpenAI'}, 'types that failed validation:\n'
                                '- [0.apiProvider]: expected value to equal [Azure OpenAI]\n'
                                '- [1.apiUrl]: expected value of type [string] but got [undefined]\n'
                                '- [2.apiProvider]: expected value to equal [Other]'),
    (dict(OPENAI, foo='bar'), 'types that failed validation:\n'
                              '- [0.apiProvider]: expected value to equal [Azure OpenAI]\n'
                              '- [1.foo]: definition for this key is missing\n'
                              '- [2.apiProvider]: expected value to equal [Other]'),
    ({'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions'},
     'types that failed validation:\n'
     '- [0.apiProvider]: expected value to equal [Azure OpenAI]\n'
     '- [1.apiProvider]: expected value to equal [OpenAI]\n'
     '- [2.defaultModel]: expected value of type [string] but got [undefined]'),
    ({'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com', 'defaultModel': 'm', 'certificateData': 'x'},
     'types that failed validation:\n'
     '- [0.apiProvider]: expected value to equal [Azure OpenAI]\n'
     '- [1.apiProvider]: expected value to equal [OpenAI]\n'
     '- [2.certificateData]: definition for this key is missing'),
    ({'apiProvider': 'UnknownProvider', 'apiUrl': 'https://api.example.com'},
     'types that failed validation:\n'
     '- [0.apiProvider]: expected value to equal [Azure OpenAI]\n'
     '- [1.apiProvider]: expected value to equal [OpenAI]\n'
     '- [2.apiProvider]: expected value to equal [Other]'),
    (dict(OPENAI, apiUrl='example.com/do-something'),
     'Error configuring OpenAI action: Error: URL Error: Invalid URL'),
    (dict(OPENAI, apiUrl='ftp://files.example.com/x'), 'Error configuring OpenAI action: Error: URL Error: Invalid protocol'),
    (dict(OPENAI, apiUrl='mailto:llm@example.com'),
     'Error configuring OpenAI action: Error: URL Error: URL must contain hostname'),
    (dict(OPENAI, contextWindowLength='long'), 'types that failed validation:\n'
                                               '- [0.apiProvider]: expected value to equal [Azure OpenAI]\n'
                                               '- [1.contextWindowLength]: expected value of type [number] but got [string]\n'
                                               '- [2.apiProvider]: expected value to equal [Other]'),
    # temperature came with 9.3 (PR #239806), so 9.2 does not know the key
    (dict(OPENAI, temperature=0.2), 'types that failed validation:\n'
                                    '- [0.apiProvider]: expected value to equal [Azure OpenAI]\n'
                                    '- [1.temperature]: definition for this key is missing\n'
                                    '- [2.apiProvider]: expected value to equal [Other]'),
])
def test_genai_config_texts(kb, config, message):
    assert error(kb.create(genai(config=config)), 400) == GENAI_PREFIX + message


def test_genai_allow_list(kibana_sim_factory):
    kb = Client(kibana_sim_factory('--allowed-hosts', 'api.openai.com,llm.internal'))
    assert kb.create(genai()).status_code == 200
    resp = kb.create(genai(config=dict(OPENAI, apiUrl='http://genAi.mynonexistent.com')))
    assert error(resp, 400) == GENAI_PREFIX + ('Error configuring OpenAI action: Error: error validating url: target url '
                                               '"http://genAi.mynonexistent.com" is not added to the Kibana config '
                                               'xpack.actions.allowedHosts')


def test_genai_defaults_per_provider(kb):
    assert kb.create(genai()).json()['config']['defaultModel'] == 'gpt-4.1'
    azure = {'apiProvider': 'Azure OpenAI',
             'apiUrl': 'https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-02-01'}
    assert kb.create(genai(config=azure)).json()['config'] == azure  # no defaultModel added
    other = {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions', 'defaultModel': 'llama3.1',
             'verificationMode': 'full', 'headers': {'X-Team': 'sre'}, 'contextWindowLength': '128000',
             'enableNativeFunctionCalling': True}
    created = kb.create(genai(config=other)).json()['config']
    assert created == dict(other, contextWindowLength=128000)  # numeric strings are coerced


SECRETS_PREFIX = 'error validating action type secrets: '


def test_genai_secrets_texts(kb, pki):
    def msg(secrets):
        return error(kb.create(genai(secrets=secrets)), 400)
    assert msg({}) == SECRETS_PREFIX + '[apiKey]: expected value of type [string] but got [undefined]'
    assert msg({'certificateData': pki['cert']}) == SECRETS_PREFIX + 'Private key data must be provided for PKI'
    assert msg({'privateKeyData': pki['key']}) == SECRETS_PREFIX + 'Certificate data must be provided for PKI'
    assert msg({'certificateData': pem_b64('not a pem'), 'privateKeyData': pki['key']}) == SECRETS_PREFIX + (
        'Invalid Certificate data file format: The file must be a PEM-encoded certificate beginning with '
        '"-----BEGIN CERTIFICATE-----".')
    assert msg({'certificateData': pki['cert'], 'privateKeyData': pki['cert']}) == SECRETS_PREFIX + (
        'Invalid Private key data file format: The file must be a PEM-encoded private key beginning with '
        '"-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----".')
    assert msg({'certificateData': pki['cert'], 'privateKeyData': pki['key'], 'caData': pem_b64('nope')}) == \
        SECRETS_PREFIX + ('Invalid CA certificate data file format: The file must be a PEM-encoded certificate '
                          'beginning with "-----BEGIN CERTIFICATE-----".')
    # Kibana only knows the PKCS#8 and PKCS#1 headers: a SEC1 "EC PRIVATE KEY" is refused (§4.2)
    assert 'Invalid Private key data file format' in msg({'certificateData': pki['cert'], 'privateKeyData': pki['ec_key']})
    raw_pem = base64.b64decode(pki['cert']).decode()
    assert 'Invalid Certificate data file format' in msg({'certificateData': raw_pem, 'privateKeyData': pki['key']})
    assert msg({'apiKey': 5}) == SECRETS_PREFIX + (
        'types that failed validation:\n- [0.apiKey]: expected value of type [string] but got [number]\n'
        '- [1.apiKey]: expected value of type [string] but got [number]')


def test_genai_pki_accepted_even_for_openai_provider(kibana_sim_factory, pki):
    sim = kibana_sim_factory()
    kb = Client(sim)
    other = {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions', 'defaultModel': 'm',
             'verificationMode': 'certificate'}
    secrets = {'certificateData': pki['cert'], 'privateKeyData': pki['key'], 'caData': pki['ca']}
    created = kb.create(genai(config=other, secrets=secrets), 'pki')
    assert created.status_code == 200 and 'secrets' not in created.json()
    assert sim.stored_secrets('pki') == secrets
    rsa_header = pem_b64('-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n')
    assert kb.create(genai(secrets={'certificateData': pki['cert'], 'privateKeyData': rsa_header})).status_code == 200
    assert kb.create(genai(secrets={'apiKey': 'k', 'certificateData': pki['cert'],
                                    'privateKeyData': pki['key']})).status_code == 200


@pytest.mark.parametrize('version', ['9.0.3', '8.18.2'])
def test_genai_before_pki_rejects_pki_keys(kibana_sim_factory, pki, version):
    kb = Client(kibana_sim_factory('--kibana-version', version))
    resp = kb.create(genai(secrets={'apiKey': 'k', 'certificateData': pki['cert']}))
    assert error(resp, 400) == SECRETS_PREFIX + '[certificateData]: definition for this key is missing'
    other = {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com', 'defaultModel': 'm', 'verificationMode': 'full'}
    assert '[2.verificationMode]: definition for this key is missing' in error(kb.create(genai(config=other)), 400)


@pytest.mark.parametrize('version', ['8.19.0', '9.1.0'])
def test_genai_pki_from_8_19_and_9_1(kibana_sim_factory, pki, version):
    kb = Client(kibana_sim_factory('--kibana-version', version))
    secrets = {'certificateData': pki['cert'], 'privateKeyData': pki['key']}
    assert kb.create(genai(secrets=secrets)).status_code == 200


# --- preconfigured connectors (§6) ------------------------------------------------------------------

PRECONFIGURED = """
xpack.actions.preconfigured:
  my-slack1:
    name: Slack#xyz
    actionTypeId: .slack
    secrets:
      webhookUrl: https://hooks.slack.example.com/services/x
  my-openai:
    name: "OpenAI (preconfigured)"
    actionTypeId: .gen-ai
    exposeConfig: true
    config:
      apiProvider: OpenAI
      apiUrl: https://api.openai.com/v1/chat/completions
    secrets:
      apiKey: sk-preconfigured
"""


@pytest.fixture
def preconfigured_sim(kibana_sim_factory, tmp_path):
    path = tmp_path / 'kibana.yml'
    path.write_text(PRECONFIGURED)
    return kibana_sim_factory('--preconfigured', str(path))


def test_preconfigured_are_listed_in_every_space(preconfigured_sim):
    kb = Client(preconfigured_sim)
    kb.create(genai(name='Mine'), 'mine')
    listed = kb.call('GET', '/api/actions/connectors').json()
    assert [c['id'] for c in listed] == ['mine', 'my-openai', 'my-slack1']
    slack = listed[2]
    assert slack == {'id': 'my-slack1', 'name': 'Slack#xyz', 'connector_type_id': '.slack', 'is_preconfigured': True,
                     'is_deprecated': False, 'is_system_action': False, 'is_connector_type_deprecated': False,
                     'referenced_by_count': 0}
    assert listed[1]['config'] == {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'}
    other_space = kb.call('GET', '/api/actions/connectors', space='team-a').json()
    assert [c['id'] for c in other_space] == ['my-openai', 'my-slack1']


def test_preconfigured_cannot_be_changed(preconfigured_sim):
    kb = Client(preconfigured_sim)
    assert kb.call('GET', '/api/actions/connector/my-slack1').json()['is_preconfigured'] is True
    assert error(kb.call('PUT', '/api/actions/connector/my-slack1', {'name': 'x'}), 400) == \
        'Preconfigured action my-slack1 can not be updated.'
    assert error(kb.call('DELETE', '/api/actions/connector/my-slack1'), 400) == \
        'Preconfigured action my-slack1 is not allowed to delete.'
    assert error(kb.create(genai(), 'my-openai'), 400) == 'This my-openai already exists in a preconfigured action.'
    # reset keeps them
    preconfigured_sim.reset()
    assert len(kb.call('GET', '/api/actions/connectors').json()) == 2


def test_preconfigured_execute_reaches_the_executor(preconfigured_sim):
    resp = Client(preconfigured_sim).call('POST', '/api/actions/connector/my-openai/_execute', {'params': {}})
    assert resp.status_code == 200 and resp.json()['connector_id'] == 'my-openai'


def test_invalid_preconfigured_id_stops_the_simulator(tmp_path):
    path = tmp_path / 'kibana.yml'
    path.write_text('xpack.actions.preconfigured:\n  constructor:\n    name: x\n    actionTypeId: .slack\n')
    proc = subprocess.run([sys.executable, os.path.join(harness.SIMULATORS, 'kibana'), '--port', '0',
                           '--preconfigured', str(path)], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2 and 'listening' not in proc.stdout
    assert 'invalid preconfigured action id "constructor"' in proc.stderr


# --- /_sim/ (docs/internals.md) -----------------------------------------------------------------------

def test_sim_stats_and_resets(kibana_sim_factory):
    sim = kibana_sim_factory()
    kb = Client(sim)
    kb.create(genai(), 'a')
    kb.call('GET', '/api/actions/connectors?x=1')
    kb.call('GET', '/api/actions/connectors', space='team-a')
    sim.stored_secrets('a')  # /_sim/ calls are not counted
    stats = sim.stats()
    assert stats['total'] == 3
    assert stats['methods'] == {'POST': 1, 'GET': 2}
    assert stats['paths'] == {'POST /api/actions/connector/a': 1, 'GET /api/actions/connectors': 1,
                              'GET /s/team-a/api/actions/connectors': 1}
    assert sim.writes() == 1
    sim.reset_stats()
    assert sim.stats()['total'] == 0
    assert kb.call('GET', '/api/actions/connector/a').status_code == 200
    sim.reset()
    assert sim.stats()['total'] == 0
    assert kb.call('GET', '/api/actions/connectors').json() == []


def test_sim_secrets_and_references(kibana_sim_factory):
    sim = kibana_sim_factory()
    kb = Client(sim)
    kb.create({'name': 'w', 'connector_type_id': '.webhook', 'config': {'url': 'https://h.example.com'},
               'secrets': {'user': 'u', 'password': 'p'}}, 'w', space='s1')
    # Kibana stores the validated secrets: nullable fields become null
    assert sim.stored_secrets('w', space='s1') == {'user': 'u', 'password': 'p', 'crt': None, 'key': None,
                                                   'pfx': None, 'clientSecret': None, 'secretHeaders': None}
    assert sim.stored_secrets('w') is None
    assert sim.sim('GET', '/_sim/connectors/s1/nope/secrets')[0] == 404
    sim.set_references('w', 3, space='s1')
    assert kb.call('GET', '/api/actions/connectors', space='s1').json()[0]['referenced_by_count'] == 3
    assert sim.sim('POST', '/_sim/connectors/s1/w/references', {'nope': 1})[0] == 400


def test_sim_api_needs_no_auth(kibana_sim_factory):
    sim = kibana_sim_factory('--api-key', API_KEY)
    assert sim.stats()['total'] == 0
    Client(sim).call('GET', '/api/actions/connectors')
    assert sim.stats()['total'] == 1  # the 401 is counted too

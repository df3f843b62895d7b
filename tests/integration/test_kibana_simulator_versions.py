"""The Kibana simulator as Kibana 8.18, 9.2, 9.3 and 9.4 (``--kibana-version``): the same scenarios at
each version, with each era's texts (reference §0), the types each release offers, the .gen-ai rules
and defaults per release (§4), the slack_api and Gemini rules (§5), the response fields (§2.3), and the
Terraform provider's accepted configurations at their min_kibana and every later modelled release."""
import base64
import json
import os

import pytest
import requests

import harness

pytestmark = pytest.mark.integration

XSRF = {'kbn-xsrf': 'tests'}
VERSIONS = ('8.18.0', '9.2.0', '9.3.0', '9.4.0')
# The releases the simulator models (tests/simulators/kibana/versions.py KNOWN_VERSIONS), written out
# here on purpose: the tests do not import the simulator.
MODELLED = ('8.15.0', '8.16.0', '8.17.0', '8.18.0', '8.19.0', '9.0.0', '9.1.0', '9.2.0', '9.3.0', '9.4.0')
CS_CONFIG, CS_SECRETS = 'error validating action type config: ', 'error validating action type secrets: '
Z_CONFIG, Z_SECRETS = 'error validating connector type config: ', 'error validating connector type secrets: '
OPENAI = {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'}
OTHER = {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions', 'defaultModel': 'llama3.1'}
GEMINI = {'apiUrl': 'https://us-central1-aiplatform.googleapis.com', 'gcpRegion': 'us-central1', 'gcpProjectID': 'p1'}
GEMINI_SECRETS = {'credentialsJson': json.dumps({'type': 'service_account'})}
TESTDATA = os.path.join(harness.ROOT, 'tests', 'data', 'terraform-acceptance-connectors.json')


def _b64(text):
    return base64.b64encode(text.encode()).decode()


PKI = {'certificateData': _b64('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'),
       'privateKeyData': _b64('-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n')}


def version_tuple(text):
    return tuple(int(p) for p in text.split('-')[0].split('.')[:3])


class Kibana(object):
    def __init__(self, sim, version):
        self.sim, self.url, self.version = sim, sim.url, version

    def call(self, method, path, body=None):
        return requests.request(method, self.url + path, json=body, headers=XSRF, timeout=10)

    def create(self, type_id, config, secrets, connector_id=None):
        path = '/api/actions/connector' + ('/' + connector_id if connector_id else '')
        return self.call('POST', path, {'name': 'c', 'connector_type_id': type_id, 'config': config, 'secrets': secrets})

    def message(self, type_id, config, secrets):
        resp = self.create(type_id, config, secrets)
        assert resp.status_code == 400, resp.text
        return resp.json()['message']


@pytest.fixture(scope='module')
def fleet():
    """One simulator per version, started on first use, shared by the module's tests."""
    started = {}

    def get(version):
        if version not in started:
            started[version] = Kibana(harness.Simulator('kibana', ['--kibana-version', version]), version)
        return started[version]

    yield get
    for kibana in started.values():
        kibana.sim.stop()


@pytest.fixture(params=VERSIONS)
def kb(request, fleet):
    return fleet(request.param)


def per_version(kb, table):
    """The expectation for kb's version from {version: value} (a missing version: the next lower one)."""
    known = sorted(table, key=version_tuple)
    chosen = [v for v in known if version_tuple(v) <= version_tuple(kb.version)]
    return table[chosen[-1]]


# --- /api/status, types offered, response fields ---------------------------------------------------

def test_status_reports_the_version(kb):
    assert kb.call('GET', '/api/status').json()['version']['number'] == kb.version


def test_sim_version_reports_the_modelled_facts(kb, fleet):
    status, body = kb.sim.sim('GET', '/_sim/version')
    assert status == 200 and body['version'] == kb.version
    assert body['era'] == per_version(kb, {'8.18.0': 'CS', '9.3.0': 'Z3', '9.4.0': 'Z4'})
    assert body['facts']['genai_pki'] is (kb.version != '8.18.0')
    assert body['facts']['slack_api_channel_id_optional'] is (version_tuple(kb.version) >= (9, 3, 0))
    old = fleet('7.17.0').sim.sim('GET', '/_sim/version')[1]
    assert old['version'] == '7.17.0' and old['modelled_as'] == '8.15.0'


def test_connector_types_offered(kb):
    ids = set(t['id'] for t in kb.call('GET', '/api/actions/connector_types').json())
    expected = per_version(kb, {
        '8.18.0': {'.thehive', '.inference'},
        '9.2.0': {'.thehive', '.inference', '.xsoar', '.jira-service-management'},
    })
    assert ids >= expected | {'.gen-ai', '.bedrock', '.gemini', '.slack_api', '.webhook', '.index'}
    assert not ({'.xsoar', '.jira-service-management'} - expected) & ids
    if kb.version == '8.18.0':
        assert kb.message('.xsoar', {'url': 'https://xsoar.example.com'}, {'apiKey': 'k'}) == \
            'Action type ".xsoar" is not registered.'
        assert kb.message('.jira-service-management', {'apiUrl': 'https://jsm.example.com'}, {'apiKey': 'k'}) == \
            'Action type ".jira-service-management" is not registered.'
    else:
        assert kb.create('.xsoar', {'url': 'https://xsoar.example.com'}, {'apiKey': 'k'}).status_code == 200
        assert kb.create('.jira-service-management', {'apiUrl': 'https://jsm.example.com'},
                         {'apiKey': 'k'}).status_code == 200


def test_response_fields_per_era(kb):
    created = kb.create('.index', {'index': 'alerts'}, {}, connector_id='fields-%s' % kb.version)
    assert created.status_code == 200, created.text
    base = {'id', 'name', 'config', 'connector_type_id', 'is_preconfigured', 'is_deprecated', 'is_missing_secrets',
            'is_system_action'}
    v9 = version_tuple(kb.version) >= (9, 2, 0)  # PR #236662
    assert set(created.json()) == (base | {'is_connector_type_deprecated'} if v9 else base)
    got = kb.call('GET', '/api/actions/connector/fields-%s' % kb.version).json()
    extra = {'auth_mode'} if kb.version == '9.4.0' else set()
    assert set(got) == set(created.json()) | extra
    if extra:
        assert got['auth_mode'] == 'shared'
    types = kb.call('GET', '/api/actions/connector_types').json()
    assert all(('is_deprecated' in t) == v9 for t in types)


@pytest.mark.parametrize('version, offered', [('8.18.0', False), ('8.19.0', True), ('9.0.0', False), ('9.1.0', True)])
def test_xsoar_arrived_in_8_19_and_9_1(fleet, version, offered):
    ids = [t['id'] for t in fleet(version).call('GET', '/api/actions/connector_types').json()]
    assert ('.xsoar' in ids) is offered


@pytest.mark.parametrize('version, present', [('9.0.0', False), ('9.1.0', False), ('9.2.0', True)])
def test_type_deprecation_field_arrived_in_9_2(fleet, version, present):
    created = fleet(version).create('.index', {'index': 'alerts'}, {})
    assert ('is_connector_type_deprecated' in created.json()) is present


# --- error texts per era (reference §0) ------------------------------------------------------------

def test_required_fields_texts(kb):
    got = kb.message('.gemini', {}, GEMINI_SECRETS)
    assert got == per_version(kb, {
        '8.18.0': CS_CONFIG + '[apiUrl]: expected value of type [string] but got [undefined]',
        # asserted verbatim in Kibana's connector_types/gemini.ts (zod v3 era)
        '9.3.0': Z_CONFIG + '3 errors:\n [1]: Field "apiUrl": Required;\n [2]: Field "gcpRegion": Required;\n'
                            ' [3]: Field "gcpProjectID": Required',
        '9.4.0': Z_CONFIG + u'\u2716 Invalid input: expected string, received undefined\n  \u2192 at apiUrl\n'
                            u'\u2716 Invalid input: expected string, received undefined\n  \u2192 at gcpRegion\n'
                            u'\u2716 Invalid input: expected string, received undefined\n  \u2192 at gcpProjectID',
    })


def test_missing_secrets_texts(kb):
    resp = kb.call('POST', '/api/actions/connector', {'name': 'g', 'connector_type_id': '.gemini', 'config': GEMINI})
    assert resp.status_code == 400
    assert resp.json()['message'] == per_version(kb, {
        '8.18.0': CS_SECRETS + '[credentialsJson]: expected value of type [string] but got [undefined]',
        '9.3.0': Z_SECRETS + 'Field "credentialsJson": Required',  # Kibana's gemini.ts
        '9.4.0': Z_SECRETS + u'\u2716 Invalid input: expected string, received undefined\n  \u2192 at credentialsJson',
    })


def test_nested_path_texts(kb):
    got = kb.message('.slack_api', {'allowedChannels': [{'id': '#general-1'}]}, {'token': 't'})
    assert got == per_version(kb, {
        '8.18.0': CS_CONFIG + '[allowedChannels.0.name]: expected value of type [string] but got [undefined]',
        '9.3.0': Z_CONFIG + 'Field "allowedChannels.0.name": Required',  # Kibana's slack_api.ts
        '9.4.0': Z_CONFIG + u'\u2716 Invalid input: expected string, received undefined\n'
                            u'  \u2192 at allowedChannels[0].name',
    })


def test_enum_and_unknown_key_texts(kb):
    got = kb.message('.webhook', {'url': 'https://hooks.example.com', 'method': 'trace'}, {})
    assert got == per_version(kb, {
        '8.18.0': CS_CONFIG + '[method]: types that failed validation:\n- [method.0]: expected value to equal [post]\n'
                              '- [method.1]: expected value to equal [put]\n- [method.2]: expected value to equal '
                              '[patch]\n- [method.3]: expected value to equal [get]\n- [method.4]: expected value '
                              'to equal [delete]',
        '9.3.0': Z_CONFIG + "Field \"method\": Invalid enum value. Expected 'post' | 'put' | 'patch' | 'get' | "
                            "'delete', received 'trace'",
        '9.4.0': Z_CONFIG + u'\u2716 Invalid option: expected one of "post"|"put"|"patch"|"get"|"delete"\n'
                            u'  \u2192 at method',
    })
    got = kb.message('.index', {'index': 'a', 'refersh': True}, {})
    assert got == per_version(kb, {
        '8.18.0': CS_CONFIG + '[refersh]: definition for this key is missing',
        '9.3.0': Z_CONFIG + "Unrecognized key(s) in object: 'refersh'",
        '9.4.0': Z_CONFIG + u'\u2716 Unrecognized key: "refersh"',
    })


def test_url_format_texts(kb):
    got = kb.message('.webhook', {'url': 'example.com/do-something'}, {})
    assert got == per_version(kb, {
        '8.18.0': CS_CONFIG + 'error validation webhook action config: unable to parse url: TypeError: Invalid URL',
        '9.3.0': Z_CONFIG + 'Field "url": Invalid url',  # Kibana's webhook/index.test.ts snapshot
        '9.4.0': Z_CONFIG + u'\u2716 Invalid URL\n  \u2192 at url',
    })


def test_union_texts(kb):
    got = kb.message('.gen-ai', {'apiProvider': 'OpenAI'}, {'apiKey': 'k'})
    assert got == per_version(kb, {
        '8.18.0': CS_CONFIG + 'types that failed validation:\n- [0.apiProvider]: expected value to equal [Azure '
                              'OpenAI]\n- [1.apiUrl]: expected value of type [string] but got [undefined]\n'
                              '- [2.apiProvider]: expected value to equal [Other]',
        # zod v3: format() merges every branch's issues by path
        '9.3.0': Z_CONFIG + "3 errors:\n [1]: Field \"apiProvider\": Invalid enum value. Expected 'Azure OpenAI', "
                            "received 'OpenAI', Invalid enum value. Expected 'Other', received 'OpenAI';\n"
                            " [2]: Field \"apiUrl\": Required, Required, Required;\n [3]: Field \"defaultModel\": "
                            "Required",
        # zod v4: no branch without aborting issues -> one invalid_union
        '9.4.0': Z_CONFIG + u'\u2716 Invalid input',
    })


def test_custom_validator_texts_keep_their_wording(kb):
    # Only the prefix follows the era (reference §0); the connector-level prefix never changed.
    got = kb.message('.gen-ai', dict(OPENAI, apiUrl='ftp://files.example.com/x'), {'apiKey': 'k'})
    assert got.endswith('config: Error configuring OpenAI action: Error: URL Error: Invalid protocol')
    assert got.startswith(per_version(kb, {'8.18.0': CS_CONFIG, '9.3.0': Z_CONFIG}))
    got = kb.message('.email', {'from': 'a@example.com', 'host': 'smtp.example.com', 'port': 25, 'hasAuth': True}, {})
    assert got == 'error validating action type connector: [user] is required'


def test_params_texts(kb):
    created = kb.create('.gen-ai', OPENAI, {'apiKey': 'k'}).json()
    body = kb.call('POST', '/api/actions/connector/%s/_execute' % created['id'], {'params': {}}).json()
    assert body['status'] == 'error' and body['retry'] is False
    assert body['errorSource'] == per_version(kb, {'8.18.0': 'framework', '9.2.0': 'user'})  # reference §3
    assert body['message'] == 'error validating action params: ' + per_version(kb, {
        '8.18.0': '[subAction]: expected value of type [string] but got [undefined]',
        '9.3.0': 'Field "subAction": Required',
        '9.4.0': u'\u2716 Invalid input: expected string, received undefined\n  \u2192 at subAction',
    })


# --- .gen-ai rules and defaults per release (reference §4) ------------------------------------------

def test_pki_gate(kb):
    pki_ok = version_tuple(kb.version) >= (9, 1, 0) or (8, 19, 0) <= version_tuple(kb.version) < (9, 0, 0)
    resp = kb.create('.gen-ai', dict(OTHER, verificationMode='full'), PKI)
    if pki_ok:
        assert resp.status_code == 200, resp.text
        assert kb.sim.stored_secrets(resp.json()['id']) == PKI
    else:
        assert resp.json()['message'] == (
            CS_CONFIG + 'types that failed validation:\n- [0.apiProvider]: expected value to equal [Azure OpenAI]\n'
                        '- [1.apiProvider]: expected value to equal [OpenAI]\n- [2.verificationMode]: definition '
                        'for this key is missing')
        assert kb.message('.gen-ai', OTHER, dict(PKI, apiKey='k')) == \
            CS_SECRETS + '[certificateData]: definition for this key is missing'


@pytest.mark.parametrize('version, accepted', [('8.18.0', False), ('8.19.0', True), ('9.0.0', False), ('9.1.0', True)])
def test_pki_arrived_in_8_19_and_9_1(fleet, version, accepted):
    resp = fleet(version).create('.gen-ai', dict(OTHER, verificationMode='certificate'), PKI)
    assert (resp.status_code == 200) == accepted, resp.text


def test_other_provider_is_not_known_to_8_15(fleet):
    kb = fleet('8.15.0')
    assert kb.message('.gen-ai', OTHER, {'apiKey': 'k'}) == (
        CS_CONFIG + 'types that failed validation:\n- [0.apiProvider]: expected value to equal [Azure OpenAI]\n'
                    '- [1.apiProvider]: expected value to equal [OpenAI]')
    assert fleet('8.16.0').create('.gen-ai', OTHER, {'apiKey': 'k'}).status_code == 200


def test_genai_server_defaults(kb):
    config = kb.create('.gen-ai', OPENAI, {'apiKey': 'k'}).json()['config']
    assert config['defaultModel'] == per_version(kb, {'8.18.0': 'gpt-4', '9.2.0': 'gpt-4.1'})
    other = kb.create('.gen-ai', OTHER, {'apiKey': 'k'}).json()['config']
    # zod v4 applies the inner .default('full') of verificationMode's .optional() (9.4)
    assert other == per_version(kb, {'8.18.0': OTHER, '9.4.0': dict(OTHER, verificationMode='full')})


def test_genai_fields_per_release(kb):
    v = version_tuple(kb.version)
    for field, value, since, stored in (('contextWindowLength', '128000', (9, 2, 0), 128000),
                                        ('temperature', '0.2', (9, 3, 0), 0.2)):
        resp = kb.create('.gen-ai', dict(OPENAI, **{field: value}), {'apiKey': 'k'})
        if v >= since:
            assert resp.json()['config'][field] == stored  # numeric strings are coerced
        else:
            assert '[1.%s]: definition for this key is missing' % field in resp.json()['message']
    resp = kb.create('.gen-ai', dict(OTHER, enableNativeFunctionCalling=True), {'apiKey': 'k'})
    assert (resp.status_code == 200) == (v >= (9, 2, 0)), resp.text  # PR #232097
    resp = kb.create('.gen-ai', dict(OPENAI, organizationId='org-1', projectId='proj-1'), {'apiKey': 'k'})
    assert resp.status_code == 200, resp.text  # 8.18+ (PR #213117)
    azure = {'apiProvider': 'Azure OpenAI', 'apiUrl': 'https://r.openai.azure.com/openai/deployments/d/chat/completions',
             'defaultModel': 'gpt-4o'}
    assert (kb.create('.gen-ai', azure, {'apiKey': 'k'}).status_code == 200) == (v >= (9, 3, 0))


# --- other types -------------------------------------------------------------------------------------------

def test_slack_api_channels_by_name(kb):
    resp = kb.create('.slack_api', {'allowedChannels': [{'name': '#alerts'}]}, {'token': 't'})
    if version_tuple(kb.version) >= (9, 3, 0):
        assert resp.status_code == 200 and resp.json()['config'] == {'allowedChannels': [{'name': '#alerts'}]}
    else:
        assert resp.json()['message'] == CS_CONFIG + ('[allowedChannels.0.id]: expected value of type [string] '
                                                      'but got [undefined]')


def test_gemini_credentials_check(kb):
    resp = kb.create('.gemini', GEMINI, {'credentialsJson': json.dumps({'type': 'external_account'})})
    if version_tuple(kb.version) >= (9, 3, 0):
        assert resp.json()['message'] == Z_SECRETS + (
            'Error configuring Google Gemini secrets: Error: Invalid credential type. Only "service_account" '
            'credentials are supported. Type was "external_account".')
    else:
        assert resp.status_code == 200


# --- the Terraform provider's accepted configurations at every version that has them ---------------------------

with open(TESTDATA, encoding='utf-8') as _f:
    TERRAFORM = json.load(_f)


drop_nulls = harness.drop_nulls


def versions_for(entry):
    """min_kibana itself (when modelled, i.e. 8.15+) and every modelled release from it on."""
    low = version_tuple(entry['min_kibana']) if entry.get('min_kibana') else (0, 0, 0)
    chosen = [v for v in MODELLED if version_tuple(v) >= low]
    if low >= (8, 15, 0) and entry['min_kibana'] not in chosen:
        chosen.insert(0, entry['min_kibana'])
    return chosen


# The SDK-era Gemini test (credentialsJson "secret1", file deleted before 9.3) never ran against 9.3+,
# where Kibana checks that the credentials are a service-account JSON (Kibana's gemini.ts).
GEMINI_NOT_JSON = 'Error configuring Google Gemini secrets: Error: Invalid JSON format for credentials.'


@pytest.mark.parametrize('entry', [e for e in TERRAFORM if e['expect'] == 'accept'], ids=lambda e: e['id'])
def test_terraform_configuration_accepted_from_its_min_kibana_on(fleet, entry):
    config, secrets = drop_nulls(entry.get('config') or {}), drop_nulls(entry.get('secrets') or {})
    for version in versions_for(entry):
        resp = fleet(version).create(entry['connector_type_id'], config, secrets)
        if entry['connector_type_id'] == '.gemini' and version_tuple(version) >= (9, 3, 0):
            assert resp.json()['message'] == Z_SECRETS + GEMINI_NOT_JSON, (version, resp.text)
            continue
        assert resp.status_code == 200, '%s at %s: %s' % (entry['id'], version, resp.text)


@pytest.mark.parametrize('entry', [e for e in TERRAFORM if e['expect'] == 'reject'], ids=lambda e: e['id'])
def test_terraform_rejected_configuration_rejected_everywhere(fleet, entry):
    for version in MODELLED:
        resp = fleet(version).create(entry['connector_type_id'], drop_nulls(entry.get('config') or {}),
                                     drop_nulls(entry.get('secrets') or {}))
        assert resp.status_code == 400, (version, resp.text)

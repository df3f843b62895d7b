"""The Kibana simulator's per-type validation (reference §5): defaults, required fields, unknown keys,
custom validator texts, and every configuration Kibana accepted in the Terraform provider's tests."""
import json
import os
import re

import pytest
import requests

import harness

pytestmark = pytest.mark.integration

XSRF = {'kbn-xsrf': 'tests'}
CFG = 'error validating action type config: '
SEC = 'error validating action type secrets: '
CON = 'error validating action type connector: '
TESTDATA = os.path.join(harness.ROOT, 'tests', 'data', 'terraform-acceptance-connectors.json')

# type -> (minimal config, minimal secrets, config Kibana returns)
TYPES = {
    '.bedrock': ({'apiUrl': 'https://bedrock-runtime.us-east-1.amazonaws.com'}, {'accessKey': 'a', 'secret': 's'},
                 {'apiUrl': 'https://bedrock-runtime.us-east-1.amazonaws.com',
                  'defaultModel': 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'}),
    '.gemini': ({'apiUrl': 'https://us-central1-aiplatform.googleapis.com', 'gcpRegion': 'us-central1',
                 'gcpProjectID': 'p1'}, {'credentialsJson': '{"type": "service_account"}'},
                {'apiUrl': 'https://us-central1-aiplatform.googleapis.com', 'gcpRegion': 'us-central1',
                 'gcpProjectID': 'p1', 'defaultModel': 'gemini-2.5-pro'}),
    '.inference': ({'provider': 'openai', 'taskType': 'chat_completion', 'inferenceId': 'my-endpoint'}, {},
                   {'provider': 'openai', 'taskType': 'chat_completion', 'inferenceId': 'my-endpoint',
                    'providerConfig': {}, 'taskTypeConfig': {}}),
    '.webhook': ({'url': 'https://hooks.example.com/x'}, {},
                 {'url': 'https://hooks.example.com/x', 'method': 'post', 'headers': None, 'hasAuth': True}),
    '.cases-webhook': ({'createIncidentUrl': 'https://c.example.com/i', 'createIncidentJson': '{}',
                        'createIncidentResponseKey': 'id', 'getIncidentUrl': 'https://c.example.com/i/{{{external.system.id}}}',
                        'getIncidentResponseExternalTitleKey': 'title', 'viewIncidentUrl': 'https://c.example.com/v',
                        'updateIncidentUrl': 'https://c.example.com/u', 'updateIncidentJson': '{}'},
                       {'user': 'u', 'password': 'p'},
                       {'createIncidentUrl': 'https://c.example.com/i', 'createIncidentMethod': 'post',
                        'createIncidentJson': '{}', 'createIncidentResponseKey': 'id', 'getIncidentMethod': 'get',
                        'getIncidentUrl': 'https://c.example.com/i/{{{external.system.id}}}', 'getIncidentJson': None,
                        'getIncidentResponseExternalTitleKey': 'title', 'viewIncidentUrl': 'https://c.example.com/v',
                        'updateIncidentUrl': 'https://c.example.com/u', 'updateIncidentMethod': 'put',
                        'updateIncidentJson': '{}', 'createCommentUrl': None, 'createCommentMethod': None,
                        'createCommentJson': None, 'headers': None, 'hasAuth': True}),
    '.slack': ({}, {'webhookUrl': 'https://hooks.slack.com/services/x'}, {}),
    '.slack_api': ({}, {'token': 'xoxb-1'}, {}),
    '.teams': ({}, {'webhookUrl': 'https://outlook.office.com/webhook/x'}, {}),
    '.email': ({'from': 'alerts@example.com', 'service': 'gmail'}, {'user': 'u', 'password': 'p'},
               {'from': 'alerts@example.com', 'service': 'gmail', 'host': None, 'port': None, 'secure': None,
                'hasAuth': True, 'tenantId': None, 'clientId': None, 'oauthTokenUrl': None}),
    '.index': ({'index': 'alerts'}, {}, {'index': 'alerts', 'refresh': False, 'executionTimeField': None}),
    '.server-log': ({}, {}, {}),
    '.pagerduty': ({}, {'routingKey': 'rk'}, {'apiUrl': None}),
    '.jira': ({'apiUrl': 'https://org.atlassian.net', 'projectKey': 'OPS'}, {'email': 'e@x.com', 'apiToken': 't'},
              {'apiUrl': 'https://org.atlassian.net', 'projectKey': 'OPS'}),
    '.servicenow': ({'apiUrl': 'https://sn.example.com'}, {'username': 'u', 'password': 'p'},
                    {'apiUrl': 'https://sn.example.com', 'isOAuth': False, 'userIdentifierValue': None,
                     'clientId': None, 'jwtKeyId': None, 'usesTableApi': True}),
    '.servicenow-sir': ({'apiUrl': 'https://sn.example.com'}, {'username': 'u', 'password': 'p'},
                        {'apiUrl': 'https://sn.example.com', 'isOAuth': False, 'userIdentifierValue': None,
                         'clientId': None, 'jwtKeyId': None, 'usesTableApi': True}),
    '.servicenow-itom': ({'apiUrl': 'https://sn.example.com'}, {'username': 'u', 'password': 'p'},
                         {'apiUrl': 'https://sn.example.com', 'isOAuth': False, 'userIdentifierValue': None,
                          'clientId': None, 'jwtKeyId': None}),
    '.opsgenie': ({'apiUrl': 'https://api.opsgenie.com'}, {'apiKey': 'k'}, {'apiUrl': 'https://api.opsgenie.com'}),
    '.xmatters': ({'configUrl': 'https://x.xmatters.com/api', 'usesBasic': True}, {'user': 'u', 'password': 'p'},
                  {'configUrl': 'https://x.xmatters.com/api', 'usesBasic': True}),
    '.tines': ({'url': 'https://x.tines.com'}, {'email': 'e@x.com', 'token': 't'}, {'url': 'https://x.tines.com'}),
    '.torq': ({'webhookIntegrationUrl': 'https://hooks.torq.io/v1/x'}, {'token': 't'},
              {'webhookIntegrationUrl': 'https://hooks.torq.io/v1/x'}),
    '.swimlane': ({'apiUrl': 'https://sl.example.com', 'appId': 'a1', 'connectorType': 'all', 'mappings': {}},
                  {'apiToken': 't'},
                  {'apiUrl': 'https://sl.example.com', 'appId': 'a1', 'connectorType': 'all',
                   'mappings': {'ruleNameConfig': None, 'alertIdConfig': None, 'caseIdConfig': None,
                                'caseNameConfig': None, 'commentsConfig': None, 'severityConfig': None,
                                'descriptionConfig': None}}),
    '.resilient': ({'apiUrl': 'https://r.example.com', 'orgId': '201'}, {'apiKeyId': 'i', 'apiKeySecret': 's'},
                   {'apiUrl': 'https://r.example.com', 'orgId': '201'}),
    '.d3security': ({'url': 'https://d3.example.com'}, {'token': 't'}, {'url': 'https://d3.example.com'}),
    '.thehive': ({'url': 'https://hive.example.com'}, {'apiKey': 'k'},
                 {'url': 'https://hive.example.com', 'organisation': None}),
    '.xsoar': ({'url': 'https://xsoar.example.com'}, {'apiKey': 'k'}, {'url': 'https://xsoar.example.com'}),
    '.jira-service-management': ({'apiUrl': 'https://api.atlassian.com'}, {'apiKey': 'k'},
                                 {'apiUrl': 'https://api.atlassian.com'}),
}


class Sim(object):
    def __init__(self, *args):
        self.proc = harness.Simulator('kibana', args)

    def create(self, type_id, config, secrets, connector_id=None):
        path = '/api/actions/connector' + ('/' + connector_id if connector_id else '')
        body = {'name': 'n', 'connector_type_id': type_id, 'config': config, 'secrets': secrets}
        return requests.post(self.proc.url + path, json=body, headers=XSRF, timeout=10)


@pytest.fixture(scope='module')
def sims():
    """One simulator per argument set for the whole module (state does not matter here: no fixed ids)."""
    started = {}

    def get(*args):
        if args not in started:
            started[args] = Sim(*args)
        return started[args]

    yield get
    for sim in started.values():
        sim.proc.stop()


def message(resp):
    assert resp.status_code == 400, resp.text
    return resp.json()['message']


@pytest.mark.parametrize('type_id', sorted(TYPES))
def test_minimal_config_gets_server_defaults(sims, type_id):
    config, secrets, returned = TYPES[type_id]
    resp = sims().create(type_id, config, secrets, 'min-' + type_id.strip('.'))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body['config'] == returned
    assert body['is_missing_secrets'] is False and 'secrets' not in body


@pytest.mark.parametrize('type_id', sorted(TYPES))
def test_unknown_config_key_is_rejected(sims, type_id):
    config, secrets, _extra = TYPES[type_id]
    resp = sims().create(type_id, dict(config, foo='bar'), secrets)
    assert message(resp) == CFG + '[foo]: definition for this key is missing'


@pytest.mark.parametrize('type_id', sorted(t for t in TYPES if TYPES[t][1]))
def test_unknown_secrets_key_is_rejected(sims, type_id):
    config, secrets, _extra = TYPES[type_id]
    resp = sims().create(type_id, config, dict(secrets, foo='bar'))
    assert message(resp) == SEC + '[foo]: definition for this key is missing'


@pytest.mark.parametrize('type_id, key', [
    ('.bedrock', 'apiUrl'), ('.gemini', 'gcpRegion'), ('.inference', 'inferenceId'), ('.webhook', 'url'),
    ('.cases-webhook', 'createIncidentJson'), ('.email', 'from'), ('.index', 'index'), ('.jira', 'projectKey'),
    ('.servicenow', 'apiUrl'), ('.opsgenie', 'apiUrl'), ('.tines', 'url'), ('.torq', 'webhookIntegrationUrl'),
    ('.swimlane', 'appId'), ('.resilient', 'orgId'), ('.d3security', 'url'), ('.thehive', 'url'),
    ('.xsoar', 'url'), ('.jira-service-management', 'apiUrl'),
])
def test_required_config_field(sims, type_id, key):
    config, secrets, _extra = TYPES[type_id]
    config = dict((k, v) for k, v in config.items() if k != key)
    assert message(sims().create(type_id, config, secrets)) == \
        CFG + '[%s]: expected value of type [string] but got [undefined]' % key


@pytest.mark.parametrize('type_id, key', [
    ('.bedrock', 'secret'), ('.gemini', 'credentialsJson'), ('.slack', 'webhookUrl'), ('.slack_api', 'token'),
    ('.teams', 'webhookUrl'), ('.pagerduty', 'routingKey'), ('.jira', 'apiToken'), ('.opsgenie', 'apiKey'),
    ('.tines', 'token'), ('.torq', 'token'), ('.swimlane', 'apiToken'), ('.resilient', 'apiKeySecret'),
    ('.d3security', 'token'), ('.thehive', 'apiKey'), ('.xsoar', 'apiKey'), ('.jira-service-management', 'apiKey'),
])
def test_required_secret(sims, type_id, key):
    config, secrets, _extra = TYPES[type_id]
    secrets = dict((k, v) for k, v in secrets.items() if k != key)
    assert message(sims().create(type_id, config, secrets)) == \
        SEC + '[%s]: expected value of type [string] but got [undefined]' % key


# --- custom validators ------------------------------------------------------------------------------

ALLOWED = ('--allowed-hosts', 'allowed.example.com,smtp.gmail.com')
NOT_ALLOWED = 'is not added to the Kibana config xpack.actions.allowedHosts'


@pytest.mark.parametrize('type_id, config, secrets, text', [
    ('.webhook', {'url': 'example.com/do-something'}, {},
     CFG + 'error validation webhook action config: unable to parse url: TypeError: Invalid URL'),
    ('.webhook', {'url': 'https://h.example.com', 'hasAuth': False, 'authType': 'webhook-authentication-basic'}, {},
     CFG + 'error validation webhook action config: authType must be null or undefined if hasAuth is false'),
    ('.webhook', {'url': 'https://h.example.com', 'method': 'https'}, {},
     CFG + '[method]: types that failed validation:\n- [method.0]: expected value to equal [post]\n'
     '- [method.1]: expected value to equal [put]\n- [method.2]: expected value to equal [patch]\n'
     '- [method.3]: expected value to equal [get]\n- [method.4]: expected value to equal [delete]'),
    ('.webhook', {'url': 'https://h.example.com'}, {'user': 'u', 'crt': 'c'},
     SEC + 'must specify one of the following schemas: user and password; crt and key (with optional password); '
     'pfx (with optional password); or clientSecret (for OAuth2)'),
    ('.cases-webhook', dict(TYPES['.cases-webhook'][0], createIncidentUrl='not a url'), {'user': 'u', 'password': 'p'},
     CFG + 'error configuring cases webhook action: unable to parse not a url: TypeError: Invalid URL'),
    ('.cases-webhook', dict(TYPES['.cases-webhook'][0], hasAuth=True), {}, CON + 'must specify a secrets configuration'),
    ('.slack', {}, {'webhookUrl': 'fee-fi-fo-fum'},
     SEC + 'error configuring slack action: unable to parse host name from webhookUrl'),
    ('.teams', {}, {'webhookUrl': 'fee-fi-fo-fum'},
     SEC + 'error configuring teams action: unable to parse host name from webhookUrl'),
    ('.email', {'from': 'a@example.com'}, {}, CFG + '[host]/[port] is required'),
    ('.email', {'from': 'a@example.com', 'host': 'h'}, {}, CFG + '[port] is required'),
    ('.email', {'from': 'a@example.com', 'service': 'nope'}, {}, CFG + "[service] value 'nope' is not valid"),
    ('.email', {'from': 'a@example.com', 'service': 'exchange_server'}, {}, CFG + '[clientId]/[tenantId] is required'),
    ('.email', {'from': 'a@example.com', 'service': 'exchange_server', 'clientId': 'c', 'tenantId': 't'}, {},
     CON + '[clientSecret] is required'),
    ('.email', {'from': 'a@example.com', 'host': 'h', 'port': 0}, {},
     CFG + '[port]: types that failed validation:\n- [port.0]: Value must be equal to or greater than [1].\n'
     '- [port.1]: expected value to equal [null]'),
    ('.email', {'from': 'a@example.com', 'host': 'h', 'port': 25, 'hasAuth': True}, {'user': 'u'},
     CON + '[password] is required'),
    ('.servicenow', {'apiUrl': 'https://sn.example.com'}, {}, CON + 'username must be provided when isOAuth = false'),
    ('.servicenow', {'apiUrl': 'https://sn.example.com', 'isOAuth': True, 'userIdentifierValue': 'u', 'clientId': 'c'},
     {}, CON + 'jwtKeyId must be provided when isOAuth = true'),
    ('.servicenow-itom', {'apiUrl': 'https://sn.example.com', 'usesTableApi': False}, {},
     CFG + '[usesTableApi]: definition for this key is missing'),
    ('.xmatters', {'usesBasic': True, 'configUrl': 'https://x.example.com'}, {},
     SEC + 'Provide either secretsUrl link or user/password to authenticate'),
    ('.xmatters', {'usesBasic': True}, {'user': 'u', 'password': 'p'}, CON + 'Provide valid configUrl'),
    ('.xmatters', {'usesBasic': False}, {'secretsUrl': 'nope'}, SEC + 'Invalid secretsUrl: TypeError: Invalid URL'),
    ('.torq', {'webhookIntegrationUrl': 'https://example.com/x'}, {'token': 't'},
     CFG + 'error configuring send to Torq action: url must begin with https://hooks.torq.io or https://hooks.eu.torq.io'),
    ('.swimlane', dict(TYPES['.swimlane'][0], connectorType='x'), {'apiToken': 't'},
     CFG + '[connectorType]: types that failed validation:\n- [connectorType.0]: expected value to equal [all]\n'
     '- [connectorType.1]: expected value to equal [alerts]\n- [connectorType.2]: expected value to equal [cases]'),
    ('.slack_api', {'allowedChannels': [{'name': '#general'}]}, {'token': 't'},
     CFG + '[allowedChannels.0.id]: expected value of type [string] but got [undefined]'),
    ('.bedrock', {'apiUrl': 'bedrock'}, {'accessKey': 'a', 'secret': 's'},
     CFG + 'Error configuring Amazon Bedrock action: Error: URL Error: Invalid URL'),
    ('.gemini', dict(TYPES['.gemini'][0], apiUrl='mailto:x@example.com'), {'credentialsJson': '{}'},
     CFG + 'Error configuring Google Gemini action: Error: URL Error: URL must contain hostname'),
])
def test_custom_validator_texts(sims, type_id, config, secrets, text):
    assert message(sims().create(type_id, config, secrets)) == text


@pytest.mark.parametrize('type_id, config, secrets, text', [
    ('.webhook', {'url': 'https://evil.example.com/x'}, {},
     CFG + 'error validation webhook action config: target url "https://evil.example.com/x" ' + NOT_ALLOWED),
    ('.slack', {}, {'webhookUrl': 'http://slack.mynonexistent.com/other/stuff/in/the/path'},
     SEC + 'error configuring slack action: target url "http://slack.mynonexistent.com/other/stuff/in/the/path" '
     + NOT_ALLOWED),
    ('.email', {'from': 'a@example.com', 'host': 'smtp.evil.example.com', 'port': 25}, {'user': 'u', 'password': 'p'},
     CFG + "[host] value 'smtp.evil.example.com' is not in the allowedHosts configuration"),
    ('.email', {'from': 'a@example.com', 'service': 'outlook365'}, {'user': 'u', 'password': 'p'},
     CFG + "[service] value 'outlook365' resolves to host 'smtp.office365.com' which is not in the allowedHosts "
     "configuration"),
    ('.pagerduty', {}, {'routingKey': 'k'},
     CFG + 'error configuring pagerduty action: target url "https://events.pagerduty.com/v2/enqueue" ' + NOT_ALLOWED),
    ('.jira', {'apiUrl': 'url1', 'projectKey': 'P'}, {'email': 'e', 'apiToken': 't'},
     CFG + 'error configuring connector action: target url "url1" ' + NOT_ALLOWED),
    ('.opsgenie', {'apiUrl': 'https://api.opsgenie.com'}, {'apiKey': 'k'},
     CFG + 'error validating url: target url "https://api.opsgenie.com" ' + NOT_ALLOWED),
    ('.bedrock', {'apiUrl': 'https://bedrock.example.com'}, {'accessKey': 'a', 'secret': 's'},
     CFG + 'Error configuring Amazon Bedrock action: Error: error validating url: target url '
     '"https://bedrock.example.com" ' + NOT_ALLOWED),
])
def test_allow_list_texts(sims, type_id, config, secrets, text):
    assert message(sims(*ALLOWED).create(type_id, config, secrets)) == text


def test_allow_list_accepts_listed_hosts(sims):
    sim = sims(*ALLOWED)
    assert sim.create('.webhook', {'url': 'https://allowed.example.com/x'}, {}).status_code == 200
    assert sim.create('.email', {'from': 'a@example.com', 'service': 'gmail'},
                      {'user': 'u', 'password': 'p'}).status_code == 200


def test_slack_api_channels_by_name_from_9_3(sims):
    config = {'allowedChannels': [{'name': '#alerts'}]}
    assert sims('--kibana-version', '9.3.0').create('.slack_api', config, {'token': 't'}).status_code == 200


def test_gemini_credentials_check_from_9_3(sims):
    config = TYPES['.gemini'][0]
    assert sims().create('.gemini', config, {'credentialsJson': 'secret1'}).status_code == 200
    resp = sims('--kibana-version', '9.3.0').create('.gemini', config,
                                                    {'credentialsJson': json.dumps({'type': 'external_account'})})
    assert message(resp).endswith('Error configuring Google Gemini secrets: Error: Invalid credential type. Only '
                                  '"service_account" credentials are supported. Type was "external_account".')


def test_email_without_has_auth_key_needs_no_credentials(sims):
    # Kibana runs the connector validator on the raw request config (Terraform data set tf-022).
    resp = sims().create('.email', {'from': 'a@example.com', 'host': 'localhost', 'port': 25}, {})
    assert resp.status_code == 200 and resp.json()['config']['hasAuth'] is True


# --- real-world configurations: the Terraform provider's acceptance tests --------------------------------

def _version(text):
    return tuple(int(p) for p in re.findall(r'\d+', text or '0')[:3])


drop_nulls = harness.drop_nulls


with open(TESTDATA, encoding='utf-8') as _f:
    TERRAFORM = json.load(_f)


@pytest.mark.parametrize('entry', [e for e in TERRAFORM if e['expect'] == 'accept'], ids=lambda e: e['id'])
def test_terraform_accepted_configuration_is_accepted(sims, entry):
    args = ()
    if _version(entry.get('min_kibana')) > (9, 2, 0):
        args = ('--kibana-version', entry['min_kibana'])
    resp = sims(*args).create(entry['connector_type_id'], drop_nulls(entry.get('config') or {}),
                              drop_nulls(entry.get('secrets') or {}))
    assert resp.status_code == 200, '%s: %s' % (entry['id'], resp.text)


@pytest.mark.parametrize('entry', [e for e in TERRAFORM if e['expect'] == 'reject'], ids=lambda e: e['id'])
def test_terraform_rejected_configuration_is_rejected(sims, entry):
    resp = sims().create(entry['connector_type_id'], drop_nulls(entry.get('config') or {}),
                         drop_nulls(entry.get('secrets') or {}))
    assert resp.status_code == 400


def test_testdata_is_present():
    assert os.path.exists(TESTDATA) and len(TERRAFORM) == 65

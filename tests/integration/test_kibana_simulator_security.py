"""The Kibana simulator's role API subset and the getDashboard sub-action (security.py), over HTTP."""
import pytest

pytestmark = pytest.mark.integration

API_KEY = 'sec-api-key'
VIEWER_ROLE = {'elasticsearch': {'indices': [{'names': ['.kibana-event-log-*'],
                                              'privileges': ['read', 'view_index_metadata']}]},
               'kibana': [{'base': ['read'], 'spaces': ['*']}]}
LLM = {'name': 'LLM', 'connector_type_id': '.gen-ai',
       'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions',
                  'defaultModel': 'llama3.1'},
       'secrets': {'apiKey': 'k-123'}}


@pytest.fixture
def kibana(kibana_sim_factory):
    return kibana_sim_factory('--api-key', API_KEY)


def admin(kibana, method, path, body=None, space=None):
    return kibana.api(method, path, body, api_key=API_KEY, space=space)


def add_user(kibana, username, roles):
    answer = kibana.sim('POST', '/_sim/security/users', {'username': username, 'password': 'pw', 'roles': roles})
    assert answer[0] == 200


def test_role_put_get_delete_with_kibanas_shapes(kibana):
    not_found = {'statusCode': 404, 'error': 'Not Found', 'message': 'Not Found'}
    assert admin(kibana, 'GET', '/api/security/role/viewer-x') == (404, not_found)
    assert admin(kibana, 'PUT', '/api/security/role/viewer-x', dict(VIEWER_ROLE, description='d')) == (204, None)
    status, role = admin(kibana, 'GET', '/api/security/role/viewer-x')
    assert status == 200
    assert role == {
        'name': 'viewer-x', 'description': 'd', 'metadata': {}, 'transient_metadata': {'enabled': True},
        'elasticsearch': {'cluster': [], 'run_as': [],
                          'indices': [{'names': ['.kibana-event-log-*'], 'privileges': ['read', 'view_index_metadata'],
                                       'allow_restricted_indices': False}]},
        'kibana': [{'base': ['read'], 'feature': {}, 'spaces': ['*']}],
        '_transform_error': [], '_unrecognized_applications': []}
    # createOnly on an existing role
    status, body = admin(kibana, 'PUT', '/api/security/role/viewer-x?createOnly=true', VIEWER_ROLE)
    assert (status, body['message']) == (409, 'Role already exists and cannot be created: viewer-x')
    assert admin(kibana, 'DELETE', '/api/security/role/viewer-x') == (204, None)
    assert admin(kibana, 'DELETE', '/api/security/role/viewer-x')[0] == 404


@pytest.mark.parametrize('body, message', [
    ({'kibana': [{'base': ['read']}]}, '[request body.elasticsearch]: expected value of type [object] but got [undefined]'),
    ({'elasticsearch': {}, 'kibana': [{'base': ['reed'], 'spaces': ['*']}]},
     '[request body.kibana.0.base.0]: unknown global privilege "reed", must be one of [all,read]'),
    ({'elasticsearch': {}, 'kibana': [{'base': ['read'], 'spaces': ['a', 'b']}, {'feature': {'x': ['read']}, 'spaces': ['b']}]},
     '[request body.kibana]: more than one privilege is applied to the following spaces: [b]'),
    ({'elasticsearch': {}, 'kibana': [{'spaces': ['a']}]},
     '[request body.kibana.0]: either [base] or [feature] is expected, but none of them specified'),
    ({'elasticsearch': {}, 'kibana': [{'spaces': ['a'], 'base': ['read'], 'feature': {'x': ['all']}}]},
     "[request body.kibana.0]: definition of [feature] isn't allowed when non-empty [base] is defined."),
    ({'elasticsearch': {'indices': [{'names': [], 'privileges': ['read']}]}},
     '[request body.elasticsearch.indices.0.names]: array size is [0], but cannot be smaller than [1]'),
    ({'elasticsearch': {}, 'name': 'x'}, '[request body.name]: definition for this key is missing'),
])
def test_role_put_validation_texts(kibana, body, message):
    status, answer = admin(kibana, 'PUT', '/api/security/role/r', body)
    assert (status, answer['message']) == (400, message)
    assert kibana.sim('GET', '/_sim/security/roles')[1] == {}


def test_role_api_needs_manage_security(kibana):
    add_user(kibana, 'bob', [])
    status, body = kibana.api('PUT', '/api/security/role/r', VIEWER_ROLE, username='bob', password='pw')
    assert status == 403 and 'manage_security' in body['message']
    assert kibana.sim('GET', '/_sim/security/roles')[1] == {}


def test_get_dashboard_follows_the_event_log_privilege_per_user_and_space(kibana):
    status, created = admin(kibana, 'POST', '/api/actions/connector/llm', LLM, space='team-a')
    assert status == 200, created
    params = {'params': {'subAction': 'getDashboard',
                         'subActionParams': {'dashboardId': 'generative-ai-token-usage-openai-team-a'}}}
    admin(kibana, 'PUT', '/api/security/role/usage', VIEWER_ROLE)
    add_user(kibana, 'nopriv', [])
    add_user(kibana, 'viewer', ['usage'])
    status, body = kibana.api('POST', '/api/actions/connector/llm/_execute', params, username='nopriv',
                              password='pw', space='team-a')
    assert (status, body) == (200, {'status': 'ok', 'connector_id': 'llm', 'data': {'available': False}})
    assert kibana.sim('GET', '/_sim/security/dashboards')[1] == []
    status, body = kibana.api('POST', '/api/actions/connector/llm/_execute', params, username='viewer',
                              password='pw', space='team-a')
    assert body == {'status': 'ok', 'connector_id': 'llm', 'data': {'available': True}}
    assert kibana.sim('GET', '/_sim/security/dashboards')[1] == [
        {'space_id': 'team-a', 'id': 'generative-ai-token-usage-openai-team-a'}]
    # the connector lives in team-a only
    status, body = admin(kibana, 'POST', '/api/actions/connector/llm/_execute', params)
    assert status == 404
    # sub-action params are validated like any sub-action's
    status, body = admin(kibana, 'POST', '/api/actions/connector/llm/_execute',
                         {'params': {'subAction': 'getDashboard', 'subActionParams': {}}}, space='team-a')
    assert body['status'] == 'error' and body['errorSource'] == 'user'
    assert body['service_message'] == ('Request validation failed (Error: [dashboardId]: expected value of type '
                                       '[string] but got [undefined])')


def test_get_dashboard_on_a_type_without_it_is_not_registered(kibana):
    admin(kibana, 'POST', '/api/actions/connector/idx', {'name': 'i', 'connector_type_id': '.index',
                                                         'config': {'index': 'a'}})
    status, body = admin(kibana, 'POST', '/api/actions/connector/idx/_execute',
                         {'params': {'subAction': 'getDashboard', 'subActionParams': {'dashboardId': 'x'}}})
    assert status == 200 and body['status'] == 'error'
    assert kibana.sim('GET', '/_sim/security/dashboards')[1] == []


def test_reset_clears_roles_users_and_dashboards(kibana):
    admin(kibana, 'PUT', '/api/security/role/usage', VIEWER_ROLE)
    kibana.reset()
    assert kibana.sim('GET', '/_sim/security/roles')[1] == {}
    assert kibana.api('GET', '/api/security/role/usage', api_key=API_KEY)[0] == 404

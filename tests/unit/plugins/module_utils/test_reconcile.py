"""reconcile.py: planning with Kibana's server-side defaults, so a second run never shows a diff."""
import pytest

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import reconcile
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.reconcile import plan_connector, PlanError


def live(connector_id, type_id, name, config, **extra):
    c = {'id': connector_id, 'name': name, 'connector_type_id': type_id, 'config': config,
         'is_preconfigured': False, 'is_deprecated': False, 'is_missing_secrets': False, 'is_system_action': False}
    c.update(extra)
    return c


def spec(connector_id, type_id, name, config=None, secrets=None, **extra):
    s = {'connector_id': connector_id, 'connector_type_id': type_id, 'name': name, 'config': config or {},
         'secrets': secrets or {}, 'state': 'present', 'space_id': 'default'}
    s.update(extra)
    return s


OPENAI = {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'}


def test_openai_default_model_is_filled_in():
    assert reconcile.with_server_defaults('.gen-ai', OPENAI)['defaultModel'] == 'gpt-4.1'


def test_other_provider_gets_no_default_model():
    cfg = {'apiProvider': 'Other', 'apiUrl': 'https://llm/v1/chat/completions', 'defaultModel': 'llama3'}
    assert reconcile.with_server_defaults('.gen-ai', cfg, '9.3.0') == cfg
    # zod v4 (9.4) stores verificationMode "full" when it is missing (versions.py)
    assert reconcile.with_server_defaults('.gen-ai', cfg, '9.4.0') == dict(cfg, verificationMode='full')


@pytest.mark.parametrize('type_id,config,expected', [
    ('.webhook', {'url': 'https://h/x'}, {'url': 'https://h/x', 'method': 'post', 'headers': None, 'hasAuth': True}),
    ('.index', {'index': 'a'}, {'index': 'a', 'refresh': False, 'executionTimeField': None}),
    ('.email', {'from': 'a@b.c'},
     {'from': 'a@b.c', 'service': 'other', 'hasAuth': True, 'host': None, 'port': None, 'secure': None, 'clientId': None,
      'oauthTokenUrl': None, 'tenantId': None}),
    ('.slack', {}, {}),
    ('.server-log', {}, {}),
])
def test_kibana_response_defaults(type_id, config, expected):
    # the responses Kibana's API tests assert (reference §2.1)
    got = reconcile.with_server_defaults(type_id, config)
    assert dict((k, v) for k, v in got.items() if k in expected) == expected


def test_create_when_missing_with_redacted_secrets_in_diff():
    p = plan_connector(spec('x', '.gen-ai', 'X', OPENAI, {'apiKey': 'sk-SECRET'}), None)
    assert p.action == 'create' and p.changed
    assert p.after['config']['defaultModel'] == 'gpt-4.1'
    assert 'sk-SECRET' not in repr(p.diff()) and p.after['secrets'] == {'apiKey': reconcile.REDACTED}


def test_unchanged_against_kibana_response_with_defaults():
    kibana = live('x', '.gen-ai', 'X', dict(OPENAI, defaultModel='gpt-4.1'))
    p = plan_connector(spec('x', '.gen-ai', 'X', OPENAI, {'apiKey': 'k'}), kibana)
    assert p.action == 'unchanged' and not p.changed and p.changes == []


def test_unknown_server_fields_are_ignored_known_ones_are_compared():
    kibana = live('h', '.webhook', 'H', {'url': 'https://h/x', 'method': 'post', 'headers': None, 'hasAuth': True,
                                         'someFieldOfANewerKibana': 'x'})
    assert plan_connector(spec('h', '.webhook', 'H', {'url': 'https://h/x'}), kibana).action == 'unchanged'
    drifted = dict(kibana, config=dict(kibana['config'], headers={'X-Team': 'ops'}))
    p = plan_connector(spec('h', '.webhook', 'H', {'url': 'https://h/x'}), drifted)
    assert p.action == 'update' and p.changes == ['config.headers']


def test_numeric_strings_compare_equal_to_numbers():
    kibana = live('m', '.email', 'M', reconcile.with_server_defaults('.email', {'from': 'a@b.c', 'port': 587}))
    assert plan_connector(spec('m', '.email', 'M', {'from': 'a@b.c', 'port': '587'}), kibana).action == 'unchanged'


def test_rename_and_config_change_are_listed():
    kibana = live('i', '.index', 'Old', {'index': 'a', 'refresh': False, 'executionTimeField': None})
    p = plan_connector(spec('i', '.index', 'New', {'index': 'b'}), kibana)
    assert p.action == 'update' and p.changes == ['name', 'config.index']
    assert p.before['config']['index'] == 'a' and p.after['config']['index'] == 'b'


def test_secrets_update_always_forces_an_update():
    kibana = live('x', '.gen-ai', 'X', dict(OPENAI, defaultModel='gpt-4.1'))
    p = plan_connector(spec('x', '.gen-ai', 'X', OPENAI, {'apiKey': 'sk-NEW'}), kibana, secrets_update='always')
    assert p.action == 'update' and p.changes == ['secrets']
    assert 'sk-NEW' not in repr(p.diff())


def test_absent():
    kibana = live('i', '.index', 'I', {'index': 'a'})
    assert plan_connector({'connector_id': 'i', 'state': 'absent'}, kibana).action == 'delete'
    assert plan_connector({'connector_id': 'i', 'state': 'absent'}, None).action == 'unchanged'


def test_type_change_is_refused():
    with pytest.raises(PlanError, match="cannot change a connector's type"):
        plan_connector(spec('i', '.webhook', 'I', {'url': 'https://h'}), live('i', '.index', 'I', {'index': 'a'}))


def test_preconfigured_is_refused():
    pre = {'id': 'p', 'name': 'P', 'connector_type_id': '.slack', 'is_preconfigured': True}
    with pytest.raises(PlanError, match='preconfigured'):
        plan_connector(spec('p', '.slack', 'P2', {}, {'webhookUrl': 'https://x'}), pre)
    with pytest.raises(PlanError, match='cannot be deleted'):
        plan_connector({'connector_id': 'p', 'state': 'absent'}, pre)


def test_secrets_required():
    assert reconcile.secrets_required('.slack')
    assert not reconcile.secrets_required('.index')
    assert not reconcile.secrets_required('.server-log')


def test_request_bodies():
    s = spec('x', '.gen-ai', 'X', OPENAI, {'apiKey': 'k'})
    assert reconcile.request_body(s) == {'name': 'X', 'connector_type_id': '.gen-ai', 'config': OPENAI,
                                         'secrets': {'apiKey': 'k'}}
    assert 'connector_type_id' not in reconcile.request_body(s, for_update=True)

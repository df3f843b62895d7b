"""actions_settings: specs -> xpack.actions settings (pure), its validation and the filter's errors."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kibana_gitops.connectors.plugins.filter.actions_settings import actions_settings
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import actions_settings as engine

SECRET = 'CANARY-preconf-key-0b1d'
CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'


def llm(**kw):
    spec = {'connector_id': 'local-llm', 'name': 'Local LLM', 'connector_type_id': '.gen-ai',
            'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm-gw.internal:8443/v1/chat/completions',
                       'defaultModel': 'llama3.1'},
            'secrets': {'apiKey': SECRET},
            'kibana_yml': {'preconfigured': True,
                           'custom_host': {'verification_mode': 'full',
                                           'certificate_authorities_files': ['/etc/kibana/certs/llm-ca.pem']}}}
    spec.update(kw)
    return spec


SLACK = {'connector_id': 'oncall', 'name': 'On-call', 'connector_type_id': '.slack',
         'secrets': {'webhookUrl': 'https://hooks.slack.com/services/T0/B0/x'}}


def test_preconfigured_custom_host_and_allowed_hosts():
    settings = actions_settings([llm(), SLACK], allowed_hosts=True, extra_allowed_hosts=['smtp.example.com'])
    assert settings == {
        'xpack.actions.preconfigured': {'local-llm': {
            'name': 'Local LLM', 'actionTypeId': '.gen-ai',
            'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm-gw.internal:8443/v1/chat/completions',
                       'defaultModel': 'llama3.1'},
            'secrets': {'apiKey': '${KIBANA_ACTIONS_LOCAL_LLM_APIKEY}'}}},
        'xpack.actions.customHostSettings': [{'url': 'https://llm-gw.internal:8443', 'ssl': {
            'verificationMode': 'full', 'certificateAuthoritiesFiles': ['/etc/kibana/certs/llm-ca.pem']}}],
        'xpack.actions.allowedHosts': ['hooks.slack.com', 'llm-gw.internal', 'smtp.example.com'],
    }
    assert SECRET not in repr(settings)
    assert actions_settings([llm(), SLACK], part='environment') == {'KIBANA_ACTIONS_LOCAL_LLM_APIKEY': SECRET}


def test_nothing_asked_nothing_rendered():
    assert actions_settings([SLACK]) == {}
    assert actions_settings([SLACK], allowed_hosts=True, extra_allowed_hosts=['*']) == {'xpack.actions.allowedHosts': ['*']}


def test_absent_specs_are_not_rendered_and_expose_config():
    spec = llm(kibana_yml={'preconfigured': True, 'expose_config': True})
    assert actions_settings([spec])['xpack.actions.preconfigured']['local-llm']['exposeConfig'] is True
    assert actions_settings([llm(state='absent')]) == {}


def test_custom_host_default_port_and_verification_mode_from_config():
    spec = llm(kibana_yml={'custom_host': {'certificate_authorities_data': CA_PEM}})
    spec['config'] = dict(spec['config'], apiUrl='https://gw.example.com/v1/chat/completions', verificationMode='certificate')
    settings = actions_settings([spec])
    assert settings == {'xpack.actions.customHostSettings': [{'url': 'https://gw.example.com:443', 'ssl': {
        'verificationMode': 'certificate', 'certificateAuthoritiesData': CA_PEM}}]}


def errors_of(specs, sources=None):
    rendered = engine.render(specs, sources)
    assert not rendered.ok and rendered.settings == {} and rendered.environment == {}
    return rendered.error_text()


def test_unknown_type_names_the_file():
    text = errors_of([llm(connector_type_id='.gen-aii')], [{'file': 'connectors/llm.yml', 'document': 0}])
    assert 'connectors/llm.yml document 0' in text and '.gen-aii' in text


def test_duplicate_preconfigured_id_across_spaces_names_both_files():
    text = errors_of([llm(), llm(space_id='security')], [{'file': 'a.yml', 'document': 0}, {'file': 'b.yml', 'document': 1}])
    assert 'b.yml document 1' in text and 'first in a.yml document 0' in text and 'every space' in text


def test_kibana_rules_for_preconfigured_ids():
    assert 'contains a dot' in errors_of([llm(connector_id='llm.prod')])
    assert 'needs a connector_id' in errors_of([llm(connector_id='constructor')])
    text = errors_of([llm(), dict(llm(), kibana_yml={}, space_id='ops')])
    assert 'also managed through the API' in text


def test_custom_host_needs_tls_and_one_setting_per_host():
    spec = llm(kibana_yml={'custom_host': {'verification_mode': 'none'}})
    spec['config'] = dict(spec['config'], apiUrl='http://llm.internal/v1/chat/completions')
    assert 'https://' in errors_of([spec])
    other = llm(connector_id='llm-2', kibana_yml={'custom_host': {'verification_mode': 'none'}})
    assert 'Kibana takes one entry per host' in errors_of([llm(), other])


def test_pki_block_is_refused_for_preconfigured():
    spec = llm()
    spec['pki'] = {'certificate': 'c.pem', 'private_key': 'k.pem'}
    del spec['secrets']
    assert 'pem_b64encode' in errors_of([spec])


def test_filter_error_and_existing_conflicts():
    with pytest.raises(AnsibleFilterError, match='1 problem'):
        actions_settings([llm(connector_id='a.b')])
    with pytest.raises(AnsibleFilterError, match='already sets xpack.actions.allowedHosts'):
        actions_settings([SLACK], allowed_hosts=True, existing={'xpack': {'actions': {'allowedHosts': ['x']}}})
    assert actions_settings([SLACK], allowed_hosts=True, existing={'xpack.actions.enabledActionTypes': ['*']})
    with pytest.raises(AnsibleFilterError, match='part must be'):
        actions_settings([SLACK], part='secrets')
    with pytest.raises(AnsibleFilterError, match='list of connector specs'):
        actions_settings('nope')


def test_env_names_of_nested_secrets_and_collisions():
    hook = {'connector_id': 'hook', 'name': 'Hook', 'connector_type_id': '.webhook',
            'config': {'url': 'https://h.example.com/x', 'hasAuth': False},
            'secrets': {'secretHeaders': {'X-Token': 'CANARY-h'}}, 'kibana_yml': {'preconfigured': True}}
    settings = actions_settings([hook])
    assert settings['xpack.actions.preconfigured']['hook']['secrets'] == {'secretHeaders': {'X-Token': '${KIBANA_ACTIONS_HOOK_SECRETHEADERS_X_TOKEN}'}}
    assert engine.env_name('P_', 'a-b', ('c',)) == engine.env_name('P_', 'a', ('b', 'c'))

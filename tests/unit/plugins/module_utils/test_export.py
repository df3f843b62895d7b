"""export.py: live connectors -> spec files with secret placeholders."""
import yaml

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import export


LLM = {'id': 'local-llm', 'name': 'Local LLM', 'connector_type_id': '.gen-ai', 'is_preconfigured': False,
       'is_system_action': False, 'referenced_by_count': 3,
       'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm/v1/chat/completions', 'defaultModel': 'llama3'}}


def test_spec_has_placeholders_for_required_secrets():
    spec = export.spec_from_connector(LLM, 'ops')
    assert spec == {'connector_id': 'local-llm', 'name': 'Local LLM', 'connector_type_id': '.gen-ai',
                    'space_id': 'ops', 'config': LLM['config'],
                    'secrets': {'apiKey': '{{ vault_local_llm_apikey }}'}}


def test_type_without_required_secrets_gets_a_comment_instead():
    hook = {'id': 'h', 'name': 'H', 'connector_type_id': '.webhook', 'config': {'url': 'https://x', 'hasAuth': True}}
    spec = export.spec_from_connector(hook, 'default')
    assert 'secrets' not in spec
    text = export.spec_file_text(spec)
    assert 'add the ones this connector uses' in text and 'password' in text


def test_file_text_round_trips_and_carries_schema_header():
    spec = export.spec_from_connector(LLM, 'default')
    text = export.spec_file_text(spec, schema_url='../schemas/connector-spec.schema.json')
    assert text.startswith('# yaml-language-server: $schema=../schemas/connector-spec.schema.json\n')
    assert 'vault_local_llm_apikey' in text.splitlines()[2]
    assert yaml.safe_load(text) == spec


def test_preconfigured_and_system_connectors_are_not_exported():
    assert export.exportable(LLM)
    assert not export.exportable(dict(LLM, is_preconfigured=True))
    assert not export.exportable(dict(LLM, is_system_action=True))


def test_file_names_are_safe_unique_and_never_dotfiles():
    ids = ['a/b', 'a b', 'a:b', 'a_b', '.hidden', '..', 'a%2Fb', 'A_b', 'x' * 300, 'x' * 301]
    names = [export.file_name(i) for i in ids]
    assert names[:7] == ['a%2Fb.yml', 'a%20b.yml', 'a%3Ab.yml', 'a_b.yml', '%2Ehidden.yml', '%2E..yml', 'a%252Fb.yml']
    assert len(set(names)) == len(ids)
    assert all('/' not in n and not n.startswith('.') and len(n.encode()) <= 204 for n in names)
    assert export.file_name('a/b c') == 'a%2Fb%20c.yml'
    assert export.secret_variable('Team-A.llm', 'apiKey') == 'vault_team_a_llm_apikey'


def test_credential_headers_become_placeholders_and_are_listed_in_the_header():
    from ansible_collections.kibana_gitops.connectors.plugins.module_utils import export as export_mod
    live = {'id': 'hook', 'name': 'Hook', 'connector_type_id': '.webhook',
            'config': {'url': 'https://h.example.com', 'headers': {'Authorization': 'Bearer CANARY-x', 'X-Team': 'ops',
                                                                   'x-api-key': 'CANARY-y'}}}
    spec = export_mod.spec_from_connector(live, 'default')
    assert spec['config']['headers'] == {'Authorization': '{{ vault_hook_header_authorization }}', 'X-Team': 'ops',
                                         'x-api-key': '{{ vault_hook_header_x_api_key }}'}
    text = export_mod.spec_file_text(spec)
    assert 'CANARY' not in text
    # placeholders stay plain Jinja (never tagged !unsafe like data from Kibana), so loading fills them in
    assert "Authorization: '{{ vault_hook_header_authorization }}'" in text, text
    assert 'define vault_hook_header_authorization, vault_hook_header_x_api_key, vault_hook_password' in text or \
        'vault_hook_header_authorization, vault_hook_header_x_api_key' in text, text

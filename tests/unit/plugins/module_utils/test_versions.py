"""The table of Kibana version facts and what the validator, schemas and reconcile make of it."""
import pytest

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import reconcile, schemas, spec, versions


def gen_ai(**config):
    base = {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'}
    base.update(config)
    return {'connector_id': 'g', 'name': 'g', 'connector_type_id': '.gen-ai', 'config': base,
            'secrets': {'apiKey': 'k'}}


def test_every_fact_has_a_source_and_a_parsable_first_release():
    ids = [row['id'] for row in versions.FACTS]
    assert len(ids) == len(set(ids))
    for row in versions.FACTS:
        assert row['source'].strip() and row['what'].strip(), row['id']
        assert row['since'] and all(versions.parse(v) for v in row['since']), row['id']
        assert row['kind'] in ('type', 'field', 'branch', 'optional', 'rule', 'default', 'era', 'response'), row['id']
    # the minimum: the three error eras, .gen-ai facts, types, slack ids, gemini, response fields
    for needed in ('era-zod3', 'era-zod4', 'gen-ai-other', 'gen-ai-pki', 'gen-ai-headers', 'ai-context-window',
                   'ai-temperature', 'gen-ai-default-model-8', 'type-inference', 'type-thehive', 'type-xsoar',
                   'type-jsm', 'slack-api-channel-id-optional', 'gemini-credentials-check',
                   'response-is-connector-type-deprecated'):
        assert versions.fact(needed)


@pytest.mark.parametrize('since,version,expected', [
    (('8.19.0', '9.1.0'), '8.18.3', False), (('8.19.0', '9.1.0'), '8.19.0', True),
    (('8.19.0', '9.1.0'), '9.0.4', False), (('8.19.0', '9.1.0'), '9.1.0', True), (('8.19.0', '9.1.0'), '10.0.0', True),
    (('9.3.0',), '8.19.9', False), (('9.3.0',), '9.2.5', False), (('9.3.0',), '9.3.0', True),
])
def test_release_lines(since, version, expected):
    assert versions.has(since, version) is expected


def test_eras():
    assert [versions.era(v) for v in ('8.18.0', '9.2.0', '9.3.1', '9.4.0')] == \
        ['config-schema', 'config-schema', 'zod v3', 'zod v4']


def test_choose_defaults_to_the_newest_with_a_note():
    version, note = versions.choose(None)
    assert version == versions.NEWEST and versions.NEWEST in note
    assert versions.choose('9.2') == ('9.2.0', None)
    assert 'newer' in versions.choose('10.1.0')[1] and 'older' in versions.choose('8.10.0')[1]
    with pytest.raises(ValueError):
        versions.choose('latest')


def test_schemas_per_release():
    assert '.inference' not in schemas.for_version('8.17.0') and '.inference' in schemas.for_version('8.18.0')
    providers = schemas.config_schema('.gen-ai', '8.15.0')['properties']['apiProvider']['enum']
    assert 'Other' not in providers
    other = schemas.config_branch('.gen-ai', {'apiProvider': 'Other'}, '9.0.0')
    assert 'verificationMode' not in other['properties'] and 'temperature' not in other['properties']
    assert 'contextWindowLength' not in other['properties']
    assert 'contextWindowLength' in schemas.config_branch('.gen-ai', {'apiProvider': 'Other'}, '9.2.0')['properties']
    assert 'certificateData' not in schemas.secrets_schema('.gen-ai', '9.0.0')['properties']
    assert 'certificateData' in schemas.secrets_schema('.gen-ai', '9.1.0')['properties']
    # the newest is the editor schema's source, untouched by for_version
    assert 'temperature' in schemas.CONNECTOR_TYPES['.bedrock']['config']['properties']


def test_server_defaults_per_release():
    assert reconcile.with_server_defaults('.gen-ai', gen_ai()['config'], '8.18.0')['defaultModel'] == 'gpt-4'
    assert reconcile.with_server_defaults('.gen-ai', gen_ai()['config'], '9.2.0')['defaultModel'] == 'gpt-4.1'
    # a default the table does not record for the release: whatever Kibana stored is accepted
    config = {'apiUrl': 'https://bedrock-runtime.us-east-1.amazonaws.com'}
    live = dict(config, defaultModel='anthropic.claude-3-5-sonnet-20240620-v1:0')
    assert reconcile.config_changes('.bedrock', config, live, '8.18.0') == []
    assert reconcile.config_changes('.bedrock', config, live, '9.3.0') == ['defaultModel']
    assert reconcile.config_changes('.bedrock', dict(config, defaultModel='x'), live, '8.18.0') == ['defaultModel']


@pytest.mark.parametrize('version,ok,field,first', [
    ('9.1.0', False, '/config/contextWindowLength', '9.2.0'),
    ('9.2.0', True, None, None),
])
def test_context_window_needs_9_2(version, ok, field, first):
    report = spec.validate_specs([gen_ai(contextWindowLength=128000)], kibana_version=version)
    assert report.ok is ok
    if not ok:
        err = [e for e in report.errors if e['path'] == field][0]
        assert err['accepted_from'] == first and err['kibana_version'] == version
        assert 'Kibana %s refuses it; %s is the first release that accepts it' % (version, first) in err['message']


def test_booleans_as_strings_last_accepted_by_9_2():
    s = {'connector_id': 'i', 'name': 'i', 'connector_type_id': '.index', 'config': {'index': 'x', 'refresh': 'true'}}
    old = spec.validate_specs([s], kibana_version='9.2.0')
    assert old.ok and old.specs[0]['config']['refresh'] is True  # sent as Kibana stores it
    new = spec.validate_specs([s], kibana_version='9.3.0')
    assert [e['accepted_until'] for e in new.errors] == ['9.2.0']


def test_types_by_release_and_unmodelled_types():
    hive = {'connector_id': 'h', 'name': 'h', 'connector_type_id': '.thehive', 'config': {'url': 'https://h'},
            'secrets': {'apiKey': 'k'}}
    early = spec.validate_specs([hive], kibana_version='8.15.0')
    assert early.errors[0]['accepted_from'] == '8.16.0'
    later = spec.validate_specs([hive], kibana_version='9.2.0')
    assert later.ok and [w['rule'] for w in later.warnings] == ['unmodelled-type']
    assert not spec.validate_specs([hive], kibana_version='9.2.0', strict=True).ok
    jsm = dict(hive, connector_type_id='.jira-service-management')
    assert spec.validate_specs([jsm], kibana_version='9.1.0').errors[0]['accepted_from'] == '9.2.0'


def test_gemini_credentials_are_kibanas_own_check_from_9_3():
    s = {'connector_id': 'gm', 'name': 'gm', 'connector_type_id': '.gemini',
         'config': {'apiUrl': 'https://x.example', 'gcpRegion': 'r', 'gcpProjectID': 'p'},
         'secrets': {'credentialsJson': '{"type": "external_account"}'}}
    old = spec.validate_specs([s], kibana_version='9.2.0')
    assert old.ok and [w['rule'] for w in old.warnings] == ['gemini-credentials']
    new = spec.validate_specs([s], kibana_version='9.3.0')
    assert [e['rule'] for e in new.errors] == [None] and new.errors[0]['accepted_until'] == '9.2.0'


def test_the_docs_hold_the_generated_table_of_facts():
    import os
    import sys
    import harness
    sys.path.insert(0, os.path.join(harness.ROOT, 'tests', 'utils'))
    import gen_version_facts
    with open(gen_version_facts.DOC) as f:
        doc = f.read()
    assert gen_version_facts.rewrite(doc) == doc, 'run: python tests/utils/gen_version_facts.py'
    for row in versions.FACTS:
        assert '`%s`' % row['id'] in doc, row['id']


def test_direct_probe_uses_the_model_the_release_fills_in():
    from ansible_collections.kibana_gitops.connectors.plugins.module_utils import probe_targets
    spec = {'connector_id': 'oa', 'name': 'OA', 'connector_type_id': '.gen-ai', 'state': 'present',
            'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'},
            'secrets': {'apiKey': 'k'}}
    for release, model in (('8.18.0', 'gpt-4'), ('9.2.0', 'gpt-4.1')):
        [target] = probe_targets.targets_from_specs(
            [spec], 'default', defaults=lambda t, c, r=release: reconcile.with_server_defaults(t, c, r))
        assert target.config['defaultModel'] == model

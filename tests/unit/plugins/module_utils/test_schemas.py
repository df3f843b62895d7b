"""The per-type schemas are valid draft 2020-12 and follow the rules reconcile/spec rely on."""
import jsonschema
import pytest

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import schemas


ALL_TYPES = schemas.known_types()


@pytest.mark.parametrize('type_id', ALL_TYPES)
def test_schemas_are_valid_draft_2020_12(type_id):
    for schema in (schemas.config_schema(type_id), schemas.secrets_schema(type_id)):
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema['type'] == 'object'


def _objects(schema):
    """Every object (sub)schema with properties, union branches included."""
    if schema.get('properties') is not None and 'oneOf' not in schema:
        yield schema
    yield from schema.get('oneOf', [])


@pytest.mark.parametrize('type_id', ALL_TYPES)
def test_objects_are_strict_like_kibana(type_id):
    for part in (schemas.config_schema(type_id), schemas.secrets_schema(type_id)):
        objects = list(_objects(part))
        assert objects
        for obj in objects:
            assert obj['additionalProperties'] is False


def test_unknown_type_has_no_schema():
    assert schemas.config_schema('.nope') is None
    assert schemas.secrets_schema('.nope') is None


def test_gen_ai_union_branches_have_const_discriminator_and_defaults():
    branches = schemas.config_schema('.gen-ai')['oneOf']
    assert sorted(b['properties']['apiProvider']['const'] for b in branches) == ['Azure OpenAI', 'OpenAI', 'Other']
    openai = schemas.config_branch('.gen-ai', {'apiProvider': 'OpenAI'})
    assert openai['properties']['defaultModel']['default'] == 'gpt-4.1'
    other = schemas.config_branch('.gen-ai', {'apiProvider': 'Other'})
    assert 'defaultModel' in other['required'] and 'default' not in other['properties']['defaultModel']
    assert schemas.config_branch('.gen-ai', {'apiProvider': 'Nope'}) is None


@pytest.mark.parametrize('type_id,config,expected', [
    ('.webhook', {'url': 'https://h'}, {'method': 'post', 'headers': None, 'hasAuth': True}),
    ('.index', {'index': 'i'}, {'refresh': False, 'executionTimeField': None}),
    ('.email', {'from': 'a@b.c'}, {'service': 'other', 'hasAuth': True, 'host': None, 'port': None,
                                   'secure': None, 'clientId': None, 'oauthTokenUrl': None, 'tenantId': None}),
])
def test_server_defaults_are_annotated(type_id, config, expected):
    props = schemas.config_branch(type_id, config)['properties']
    defaults = dict((k, p['default']) for k, p in props.items() if 'default' in p)
    assert defaults == expected


def test_secrets_required_fields():
    assert schemas.secrets_schema('.slack')['required'] == ['webhookUrl']
    assert schemas.secrets_schema('.server-log') == {'type': 'object', 'additionalProperties': False, 'properties': {}}

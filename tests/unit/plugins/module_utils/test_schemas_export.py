"""docs/schemas/*.json are generated from schemas.py (make schemas) and work as editor schemas."""
import importlib.util
import json
import os

import jsonschema
import pytest
import yaml

import harness
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec_files

_spec = importlib.util.spec_from_file_location('gen_schemas', os.path.join(harness.ROOT, 'tests', 'utils', 'gen_schemas.py'))
gen_schemas = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_schemas)
DATA = os.path.join(harness.ROOT, 'tests', 'data')


def _load(name):
    with open(os.path.join(gen_schemas.OUT_DIR, name), encoding='utf-8') as f:
        return f.read()


def test_exported_schemas_are_up_to_date():
    wanted = gen_schemas.render()
    on_disk = set(f for f in os.listdir(gen_schemas.OUT_DIR) if f.endswith('.schema.json'))
    assert on_disk == set(wanted), 'run make schemas'
    stale = [name for name, text in wanted.items() if _load(name) != text]
    assert not stale, 'out of date, run make schemas: %s' % stale


def _validator(name='connector-spec.schema.json'):
    schema = json.loads(_load(name))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_editor_schema_accepts_every_valid_example_and_a_list_of_them():
    specs, _sources, errors = spec_files.load_spec_paths([os.path.join(DATA, 'valid_specs')])
    assert not errors
    validator = _validator()
    for s in specs:
        assert not list(validator.iter_errors(s)), s['connector_id']
    assert not list(validator.iter_errors(specs))


@pytest.mark.parametrize('case_id', ['genai-unknown-config-key', 'webhook-bad-method', 'missing-name',
                                     'unknown-type', 'slack-missing-webhook-url', 'email-port-out-of-range',
                                     'swimlane-mapping-missing-key', 'genai-other-needs-default-model'])
def test_editor_schema_flags_schema_level_mistakes(case_id):
    with open(os.path.join(DATA, 'bad_specs', 'cases.yml')) as f:
        case = [c for c in yaml.safe_load(f) if c['id'] == case_id][0]
    assert list(_validator().iter_errors(case['spec']))


def test_per_type_schema_pins_the_type():
    validator = _validator('connector-spec.webhook.schema.json')
    ok = {'connector_id': 'w', 'name': 'w', 'connector_type_id': '.webhook', 'config': {'url': 'https://h'}}
    assert not list(validator.iter_errors(ok))
    assert list(validator.iter_errors(dict(ok, connector_type_id='.slack')))

"""The bad-input corpus is rejected field by field; every valid example and Terraform's accepted data pass."""
import json
import os

import pytest
import yaml

import harness
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import schemas, spec, spec_files

DATA = os.path.join(harness.ROOT, 'tests', 'data')
with open(os.path.join(DATA, 'bad_specs', 'cases.yml')) as _f:
    BAD = yaml.safe_load(_f)
TERRAFORM = os.path.join(harness.ROOT, 'tests', 'data', 'terraform-acceptance-connectors.json')
# Terraform acceptance data Kibana accepted that the collection rejects on purpose (docs/spec-validation.md)
TERRAFORM_STRICTER = {'tf-026': 'url-strict', 'tf-027': 'url-strict'}
# accepted by Kibana 9.3+ (their min_kibana), not by the 9.2 the collection validates for
TERRAFORM_NEWER_KIBANA = {'tf-011': '9.3.0', 'tf-056': '9.3.0'}


def _specs(case):
    return case.get('specs') or [case['spec']]


def test_corpus_is_big_and_covers_every_type():
    assert len(BAD) >= 60
    assert len(set(c['id'] for c in BAD)) == len(BAD)
    covered = set(s.get('connector_type_id') for c in BAD for s in _specs(c))
    assert set(schemas.known_types()) <= covered


@pytest.mark.parametrize('case', BAD, ids=[c['id'] for c in BAD])
def test_bad_spec_is_rejected_naming_the_field(case):
    report = spec.validate_specs(_specs(case))
    assert not report.ok
    for path in case['expect']:
        hits = [e for e in report.errors if e['path'] == path]
        assert hits, '%s: no error at %s, got %s' % (case['id'], path, [e['path'] for e in report.errors])
        # the message names the field as users write it (config.apiUrl), or the whole secrets block
        assert any(spec.field_name(path) in e['message'] for e in hits), hits
    rules = set(e['rule'] for e in report.errors)
    if case.get('stricter'):
        assert rules == set([case['stricter']]) and case['stricter'] in spec.STRICTER_THAN_KIBANA
    else:
        assert rules == set([None]), 'a Kibana-rejected case must not depend on a stricter rule'
    for problem in report.errors + report.warnings:
        assert 'CANARY' not in json.dumps(problem), 'a secret value leaked into a message'


def _valid_specs():
    specs, sources, errors = spec_files.load_spec_paths([os.path.join(DATA, 'valid_specs')])
    assert not errors
    return specs, sources


def test_valid_examples_cover_every_type_and_pass_strict():
    specs, sources = _valid_specs()
    assert set(s['connector_type_id'] for s in specs) == set(schemas.known_types())
    report = spec.validate_specs(specs, sources, strict=True)
    assert report.ok, [spec.format_problem(p) for p in report.errors]
    assert len(report.specs) == len(specs)


@pytest.mark.skipif(not os.path.exists(TERRAFORM), reason='shared test data not present')
def test_terraform_acceptance_data():
    with open(TERRAFORM) as f:
        entries = json.load(f)
    for entry in entries:
        s = {'connector_id': entry['id'], 'name': entry['id'], 'connector_type_id': entry['connector_type_id'],
             'config': entry.get('config'), 'secrets': entry.get('secrets')}
        report = spec.validate_specs([s])
        if entry['expect'] == 'reject' or entry['id'] in TERRAFORM_NEWER_KIBANA:
            assert entry.get('min_kibana') == TERRAFORM_NEWER_KIBANA.get(entry['id'], entry.get('min_kibana'))
            assert not report.ok, entry['id']
        elif entry['id'] in TERRAFORM_STRICTER:
            assert set(e['rule'] for e in report.errors) == set([TERRAFORM_STRICTER[entry['id']]]), entry['id']
        else:
            assert report.ok, (entry['id'], report.errors)

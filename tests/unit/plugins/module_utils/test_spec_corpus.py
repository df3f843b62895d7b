"""The bad-input corpus is rejected field by field; every valid example and Terraform's accepted data pass."""
import json
import os

import pytest
import yaml

import harness
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import schemas, spec, spec_files, versions

DATA = os.path.join(harness.ROOT, 'tests', 'data')
with open(os.path.join(DATA, 'bad_specs', 'cases.yml')) as _f:
    BAD = yaml.safe_load(_f)
TERRAFORM = os.path.join(harness.ROOT, 'tests', 'data', 'terraform-acceptance-connectors.json')
# Terraform acceptance data Kibana accepted that the collection only warns about (docs/spec-validation.md)
TERRAFORM_STRICTER = {'tf-026': 'url-strict', 'tf-027': 'url-strict'}


def _specs(case):
    return case.get('specs') or [case['spec']]


def test_corpus_is_big_and_covers_every_type():
    assert len(BAD) >= 60
    assert len(set(c['id'] for c in BAD)) == len(BAD)
    covered = set(s.get('connector_type_id') for c in BAD for s in _specs(c))
    assert set(schemas.known_types()) <= covered


@pytest.mark.parametrize('case', BAD, ids=[c['id'] for c in BAD])
def test_bad_spec_is_rejected_naming_the_field(case):
    version = case.get('kibana_version')
    if case.get('stricter'):
        # the collection's own strictness: a warning by default, an error only with strict
        relaxed = spec.validate_specs(_specs(case), kibana_version=version)
        if case['stricter'] not in spec.ALWAYS_ERRORS:
            assert relaxed.ok, (case['id'], relaxed.errors)
            assert set(w['rule'] for w in relaxed.warnings) >= set([case['stricter']])
    report = spec.validate_specs(_specs(case), kibana_version=version, strict=bool(case.get('stricter')))
    assert not report.ok
    for path in case['expect']:
        hits = [e for e in report.errors if e['path'] == path]
        assert hits, '%s: no error at %s, got %s' % (case['id'], path, [e['path'] for e in report.errors])
        # the message names the field as users write it (config.apiUrl), or the whole secrets block
        assert any(spec.field_name(path) in e['message'] for e in hits), hits
    rules = set(e['rule'] for e in report.errors if e['path'] in case['expect'])
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


def _terraform_entries():
    with open(TERRAFORM) as f:
        return json.load(f)


def _terraform_spec(entry):
    return {'connector_id': entry['id'], 'name': entry['id'], 'connector_type_id': entry['connector_type_id'],
            'config': entry.get('config'), 'secrets': entry.get('secrets')}


def _min_kibana(entry):
    """The release to validate a case for: its min_kibana, at least the oldest release the collection knows."""
    wanted = versions.parse(entry.get('min_kibana') or versions.OLDEST)
    return versions.text(max(wanted, versions.parse(versions.OLDEST)))


@pytest.mark.skipif(not os.path.exists(TERRAFORM), reason='shared test data not present')
def test_terraform_acceptance_data_at_each_min_kibana():
    """Every configuration Kibana accepted passes at the case's min_kibana (stricter rules only warn)."""
    for entry in _terraform_entries():
        report = spec.validate_specs([_terraform_spec(entry)], kibana_version=_min_kibana(entry))
        if entry['expect'] == 'reject':
            assert not report.ok, entry['id']
            continue
        assert report.ok, (entry['id'], _min_kibana(entry), report.errors)
        if entry['id'] in TERRAFORM_STRICTER:
            assert TERRAFORM_STRICTER[entry['id']] in set(w['rule'] for w in report.warnings), entry['id']
            strict = spec.validate_specs([_terraform_spec(entry)], kibana_version=_min_kibana(entry), strict=True)
            assert set(e['rule'] for e in strict.errors) == set([TERRAFORM_STRICTER[entry['id']]]), entry['id']


@pytest.mark.skipif(not os.path.exists(TERRAFORM), reason='shared test data not present')
def test_terraform_name_only_slack_channels_need_9_3():
    """tf-011 / tf-056 (min_kibana 9.3.0): refused for 9.2 with the release that accepts them, fine for 9.3+."""
    for entry in _terraform_entries():
        if entry['id'] not in ('tf-011', 'tf-056'):
            continue
        assert entry['min_kibana'] == '9.3.0'
        refused = spec.validate_specs([_terraform_spec(entry)], kibana_version='9.2.0')
        assert not refused.ok and spec.version_refusal(refused.errors)
        assert set(e['accepted_from'] for e in refused.errors) == set(['9.3.0'])
        assert all('Kibana 9.2.0' in e['message'] for e in refused.errors)
        for version in ('9.3.0', '9.4.0'):
            assert spec.validate_specs([_terraform_spec(entry)], kibana_version=version).ok

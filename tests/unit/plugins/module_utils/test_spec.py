"""spec.py: every problem reported, each naming its field; the rules JSON Schema cannot say."""
import base64

import pytest

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec, versions

CANARY = 'CANARY-sk-test-0123456789'
CERT_PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUZ\n-----END CERTIFICATE-----\n'
KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n'


def b64(text):
    return base64.b64encode(text.encode()).decode()


def gen_ai(**overrides):
    s = {'connector_id': 'llm', 'name': 'LLM', 'connector_type_id': '.gen-ai',
         'config': {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions',
                    'defaultModel': 'llama3.1'},
         'secrets': {'apiKey': CANARY}}
    for key, value in overrides.items():
        if value is None:
            s.pop(key, None)
        else:
            s[key] = value
    return s


def paths(report, attr='errors'):
    return [p['path'] for p in getattr(report, attr)]


def test_valid_spec_is_normalised_and_untouched():
    original = gen_ai(connector_id=None)
    original['connector_id'] = 'llm'
    report = spec.validate_specs([original])
    assert report.ok, report.errors
    assert report.specs[0]['space_id'] == 'default' and report.specs[0]['state'] == 'present'
    assert 'space_id' not in original  # the caller's dict is not modified


def test_two_mistakes_are_both_reported():
    report = spec.validate_specs([gen_ai(config={'apiProvider': 'Other', 'apiUrl': 'not a url', 'tmperature': 1})])
    assert sorted(paths(report)) == ['/config/apiUrl', '/config/defaultModel', '/config/tmperature']
    unknown = [p for p in report.errors if p['path'] == '/config/tmperature'][0]
    assert 'config.tmperature' in unknown['message'] and unknown['hint'] == 'did you mean temperature?'


def test_errors_carry_their_source():
    report = spec.validate_specs([gen_ai(connector_type_id='.genai')], sources=[{'file': 'c.yml', 'document': 2}])
    err = report.errors[0]
    assert (err['file'], err['document'], err['connector'], err['path']) == ('c.yml', 2, 'llm', '/connector_type_id')
    assert err['hint'] == 'did you mean .gen-ai?'


@pytest.mark.parametrize('config,path', [
    ({'apiProvider': 'Other', 'apiUrl': 'https://h/v1'}, '/config/defaultModel'),
    ({'apiUrl': 'https://h/v1'}, '/config/apiProvider'),
    ({'apiProvider': 'openai', 'apiUrl': 'https://h/v1'}, '/config/apiProvider'),
    ({'apiProvider': 'OpenAI', 'apiUrl': 'ftp://h/v1'}, '/config/apiUrl'),
    ({'apiProvider': 'OpenAI', 'apiUrl': 'https://'}, '/config/apiUrl'),
])
def test_gen_ai_provider_rules(config, path):
    report = spec.validate_specs([gen_ai(config=config)])
    assert path in paths(report)


def test_azure_default_model_needs_9_3():
    azure = gen_ai(config={'apiProvider': 'Azure OpenAI', 'apiUrl': 'https://h/x?api-version=1', 'defaultModel': 'm'})
    assert '/config/defaultModel' in paths(spec.validate_specs([azure], kibana_version='9.2.0'))
    assert spec.validate_specs([azure], kibana_version='9.3.0').ok


def test_gen_ai_api_key_required_unless_pki():
    assert '/secrets/apiKey' in paths(spec.validate_specs([gen_ai(secrets={})]))
    with_pki = gen_ai(secrets=None, pki={'certificate': 'c.crt', 'private_key': 'c.key'})
    with_pki['config']['verificationMode'] = 'full'
    assert spec.validate_specs([with_pki]).ok


def test_pki_needs_certificate_and_key_together():
    report = spec.validate_specs([gen_ai(secrets=None, pki={'certificate': 'c.crt'})])
    assert '/pki/private_key' in paths(report)
    report = spec.validate_specs([gen_ai(secrets={'privateKeyData': b64(KEY_PEM)})])
    assert '/secrets/certificateData' in paths(report)


def test_raw_pem_is_named_as_the_classic_mistake():
    report = spec.validate_specs([gen_ai(secrets={'certificateData': CERT_PEM, 'privateKeyData': b64(KEY_PEM)})])
    err = [p for p in report.errors if p['path'] == '/secrets/certificateData'][0]
    assert 'raw PEM' in err['message'] and 'b64encode' in err['hint']


def test_swapped_certificate_and_key():
    report = spec.validate_specs([gen_ai(secrets={'certificateData': b64(KEY_PEM), 'privateKeyData': b64(CERT_PEM)})])
    messages = ' '.join(p['message'] for p in report.errors)
    assert sorted(paths(report)) == ['/secrets/certificateData', '/secrets/privateKeyData']
    assert messages.count('swapped') == 2


def test_base64_pem_secrets_pass():
    s = gen_ai(secrets={'certificateData': b64(CERT_PEM), 'privateKeyData': b64(KEY_PEM), 'caData': b64(CERT_PEM)})
    s['config']['verificationMode'] = 'full'
    assert spec.validate_specs([s]).ok


def test_pki_for_other_provider_or_without_verification_mode_warns_and_strict_errors():
    s = gen_ai(secrets=None, pki={'certificate': 'c.crt', 'private_key': 'c.key'})
    report = spec.validate_specs([s])
    assert report.ok and paths(report, 'warnings') == ['/config/verificationMode']
    s['config'] = {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions'}
    strict = spec.validate_specs([s], strict=True)
    assert [p['rule'] for p in strict.errors] == ['pki-unused']


def test_pki_checker_is_injected_and_its_pointers_are_prefixed():
    calls = []

    def checker(block):
        calls.append(block)
        return [('/private_key', 'does not match the certificate', 'error'), ('/certificate', 'expires soon', 'warning')]

    s = gen_ai(secrets=None, pki={'certificate': 'c.crt', 'private_key': 'c.key'})
    s['config']['verificationMode'] = 'full'
    report = spec.validate_specs([s], pki_checker=checker)
    assert calls == [{'certificate': 'c.crt', 'private_key': 'c.key'}]
    assert paths(report) == ['/pki/private_key'] and paths(report, 'warnings') == ['/pki/certificate']
    assert report.errors[0]['message'].startswith('pki.private_key:')


def test_pki_shape_is_checked_without_a_checker():
    report = spec.validate_specs([gen_ai(pki={'certificate': 'c.crt', 'private_key': 'k', 'key': 'x'})])
    assert '/pki/key' in paths(report)


def test_pki_on_another_type_is_an_error():
    report = spec.validate_specs([{'connector_id': 'w', 'name': 'w', 'connector_type_id': '.webhook',
                                   'config': {'url': 'https://h'}, 'pki': {'certificate': 'c'}}])
    assert '/pki' in paths(report)


@pytest.mark.parametrize('secrets,ok', [
    ({}, True),
    ({'user': 'u', 'password': 'p'}, True),
    ({'crt': 'c', 'key': 'k', 'password': 'p'}, True),
    ({'pfx': 'x'}, True),
    ({'clientSecret': 's'}, True),
    ({'user': 'u'}, False),
    ({'password': 'p'}, False),
    ({'user': 'u', 'password': 'p', 'pfx': 'x'}, False),
    ({'crt': 'c'}, False),
    ({'crt': 'c', 'key': 'k', 'clientSecret': 's'}, False),
])
def test_webhook_auth_combinations(secrets, ok):
    report = spec.validate_specs([{'connector_id': 'w', 'name': 'w', 'connector_type_id': '.webhook',
                                   'config': {'url': 'https://h.example.com'}, 'secrets': secrets}])
    assert report.ok is ok
    if not ok:
        assert paths(report) == ['/secrets']


@pytest.mark.parametrize('config,secrets,expected', [
    ({'from': 'a@b.c', 'host': 'smtp.b.c', 'port': 25}, {'user': 'u', 'password': 'p'}, []),
    ({'from': 'a@b.c'}, {'user': 'u', 'password': 'p'}, ['/config/host', '/config/port']),
    ({'from': 'a@b.c', 'service': 'gmail'}, {'user': 'u', 'password': 'p'}, []),
    ({'from': 'a@b.c', 'service': 'Outlook365'}, {'user': 'u', 'password': 'p'}, []),
    ({'from': 'a@b.c', 'service': 'gmial'}, {'user': 'u', 'password': 'p'}, ['/config/service']),
    ({'from': 'a@b.c', 'service': 'exchange_server'}, {}, ['/config/clientId', '/config/tenantId',
                                                           '/secrets/clientSecret']),
    ({'from': 'a@b.c', 'host': 'h', 'port': 25, 'hasAuth': True}, {}, ['/secrets/password', '/secrets/user']),
    # Kibana's connector check sees the raw config: no hasAuth written, no user/password needed (tf-022)
    ({'from': 'a@b.c', 'host': 'h', 'port': 25}, {}, []),
    ({'from': 'a@b.c', 'host': 'h', 'port': 25, 'hasAuth': False}, {}, []),
])
def test_email_service_host_port(config, secrets, expected):
    report = spec.validate_specs([{'connector_id': 'e', 'name': 'e', 'connector_type_id': '.email',
                                   'config': config, 'secrets': secrets}])
    assert sorted(paths(report)) == sorted(expected)


def test_blank_strings_are_rejected_where_kibana_rejects_them():
    report = spec.validate_specs([gen_ai(name='  ', secrets={'apiKey': ''},
                                         config={'apiProvider': 'Other', 'apiUrl': 'https://h/v1',
                                                 'defaultModel': 'm', 'headers': {'X-A': ' '}})])
    assert sorted(paths(report)) == ['/config/headers/X-A', '/name', '/secrets/apiKey']
    assert all('empty or only whitespace' in p['message'] for p in report.errors)


def test_duplicate_ids_error_and_duplicate_names_warn_per_space():
    a = gen_ai()
    b = gen_ai()
    c = gen_ai(space_id='other')
    d = gen_ai(connector_id='llm2')
    report = spec.validate_specs([a, b, c, d], sources=[{'file': 'a.yml', 'document': 0}, None, None, None])
    dup = [p for p in report.errors if p['path'] == '/connector_id']
    assert len(dup) == 1 and 'a.yml document 0' in dup[0]['message']
    assert [p['path'] for p in report.warnings].count('/name') == 2


def test_missing_connector_id_warns():
    report = spec.validate_specs([gen_ai(connector_id=None)])
    assert report.ok and paths(report, 'warnings') == ['/connector_id']
    assert not spec.validate_specs([gen_ai(connector_id=None)], strict=True).ok


def test_absent_needs_only_an_identity():
    assert spec.validate_specs([{'connector_id': 'gone', 'state': 'absent'}]).ok
    assert not spec.validate_specs([{'state': 'absent'}]).ok


def test_numbers_as_strings_are_coerced_like_kibana_with_a_warning():
    s = gen_ai()
    s['config']['temperature'] = '0.2'
    s['config']['contextWindowLength'] = '128000'
    report = spec.validate_specs([s])
    assert report.ok
    assert set(w['rule'] for w in report.warnings if w['path'].startswith('/config/')) == set(['coercion'])
    # what Kibana stores, and what the collection sends
    assert report.specs[0]['config']['temperature'] == 0.2
    assert report.specs[0]['config']['contextWindowLength'] == 128000
    strict = spec.validate_specs([s], strict=True)
    assert 'coercion' in set(e['rule'] for e in strict.errors)


def test_url_checks_kibana_does_not_do_are_marked():
    s = {'connector_id': 'j', 'name': 'j', 'connector_type_id': '.jira', 'config': {'apiUrl': 'url1', 'projectKey': 'P'},
         'secrets': {'email': 'e', 'apiToken': 't'}}
    assert spec.validate_specs([s]).ok  # Kibana accepts it (Terraform tf-026): a warning
    assert [p['rule'] for p in spec.validate_specs([s]).warnings] == ['url-strict']
    assert [p['rule'] for p in spec.validate_specs([s], strict=True).errors] == ['url-strict']
    s = {'connector_id': 's', 'name': 's', 'connector_type_id': '.slack', 'secrets': {'webhookUrl': 'hooks.slack.com/x'}}
    assert [p['rule'] for p in spec.validate_specs([s]).errors] == [None]


def test_templated_values_in_files_are_not_url_checked():
    s = gen_ai()
    s['config']['apiUrl'] = '{{ llm_url }}'
    assert spec.validate_specs([s]).ok


def test_mustache_in_cases_webhook_urls_is_fine():
    assert spec.parse_url('https://jira.example.com/rest/api/2/issue/{{{external.system.id}}}') == (
        'https', 'jira.example.com')


def test_secret_values_never_appear_in_problems():
    bad = gen_ai(secrets={'apiKey': CANARY, 'certificateData': CANARY, 'bogus': CANARY})
    bad['config']['temperature'] = [CANARY]
    report = spec.validate_specs([bad, {'connector_id': 's', 'name': 's', 'connector_type_id': '.slack',
                                        'secrets': {'webhookUrl': CANARY}}])
    assert report.errors
    for problem in report.errors + report.warnings:
        assert CANARY not in repr(problem)
    assert CANARY not in repr(spec.redact_spec(report.specs[0])['secrets'])
    assert CANARY in spec.secret_values([bad])


def test_format_problem_names_everything():
    line = spec.format_problem({'file': 'c.yml', 'document': 1, 'connector': 'llm', 'path': '/config/apiUrl',
                                'message': 'config.apiUrl is required', 'hint': 'add it'})
    assert line == 'c.yml document 1, connector llm: config.apiUrl is required (hint: add it)'
    line = spec.format_problem({'connector': 'llm', 'path': '/config/apiUrl', 'message': 'is required'})
    assert line == 'connector llm, config.apiUrl: is required'  # the field once, never twice


def test_pki_problems_name_the_field_once_and_the_file(tmp_path):
    """Issue 9 §6: was 'pki.certificate: pki.certificate: CN=… expired …' with no file."""
    from ansible_collections.kibana_gitops.connectors.plugins.module_utils import pki
    import pki_factory
    old = pki_factory.CA('Old CA').issue('old-client', not_before=-30, not_after=-1)
    paths = old.write(tmp_path, prefix='old')
    labelled = pki.with_source('/controller/files/old.crt', old.cert_pem)
    for value, file_name in ((paths['certificate'], paths['certificate']), (labelled, '/controller/files/old.crt')):
        report = spec.validate_specs([gen_ai(secrets={}, pki={'certificate': value, 'private_key': old.key_pem()})],
                                     pki_checker=pki.check_spec_pki)
        lines = [spec.format_problem(p) for p in report.errors if p['path'] == '/pki/certificate']
        assert len(lines) == 1 and lines[0].count('pki.certificate') == 1, lines
        assert 'expired' in lines[0] and '(file %s)' % file_name in lines[0], lines


def test_redact_hides_the_pki_key_in_any_form():
    s = gen_ai(pki={'certificate': 'c.crt', 'private_key': 'TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3', 'private_key_passphrase': CANARY})
    safe = spec.redact_spec(s)
    assert safe['pki'] == {'certificate': 'c.crt', 'private_key': '<secret: not shown>',
                           'private_key_passphrase': '<secret: not shown>'}
    assert set([CANARY, 'TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3']) <= spec.secret_values([s])


def test_every_stricter_rule_is_documented():
    import os
    import harness
    with open(os.path.join(harness.ROOT, 'docs', 'spec-validation.md')) as f:
        doc = f.read()
    for rule in spec.STRICTER_THAN_KIBANA:
        assert '| `%s` |' % rule in doc, rule


def test_an_error_of_every_release_is_not_a_version_refusal():
    """Other without defaultModel: 8.15 refuses it too (no Other at all), so no release accepts it."""
    s = gen_ai(config={'apiProvider': 'Other', 'apiUrl': 'https://h/v1'})
    for version in versions.KNOWN_VERSIONS:
        report = spec.validate_specs([s], kibana_version=version)
        assert not report.ok and not spec.version_refusal(report.errors), version
        assert not any(e.get('accepted_from') or e.get('accepted_until') for e in report.errors)


# ---------------------------------------------------------------------------------------------- issue 9 rules
def test_name_only_specs_with_the_same_name_and_type_are_an_error():
    one = {'name': 'Alerts', 'connector_type_id': '.index', 'config': {'index': 'a'}}
    report = spec.validate_specs([one, dict(one), dict(one, connector_type_id='.server-log', config={}),
                                  dict(one, space_id='ops')])
    dup = [e for e in report.errors if e['rule'] == 'duplicate-name']
    assert len(dup) == 1 and dup[0]['connector'] == 'Alerts' and 'spec #1' in dup[0]['message']
    # with ids (or one absent) they are two connectors: only the name warning, no error
    ok = spec.validate_specs([dict(one, connector_id='a'), dict(one, connector_id='b'), dict(one, state='absent')])
    assert not [e for e in ok.errors if e['rule'] == 'duplicate-name']


@pytest.mark.parametrize('key,value', [('connector_id', '.'), ('connector_id', '..'), ('space_id', '..')])
def test_ids_a_url_path_cannot_carry_are_an_error(key, value):
    report = spec.validate_specs([dict({'connector_id': 'x', 'name': 'n', 'connector_type_id': '.server-log'},
                                       **{key: value})])
    assert [e['rule'] for e in report.errors if e['path'] == '/' + key] == ['url-id']


@pytest.mark.parametrize('type_id,config,hint', [
    ('.webhook', {'url': 'https://h.example.com', 'headers': {'Authorization': 'Bearer x', 'X-Team': 'a'}},
     'secrets.secretHeaders'),
    ('.cases-webhook', None, 'secrets.secretHeaders'),
    ('.gen-ai', {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions',
                 'headers': {'x-api-key': 'k'}}, 'secrets.apiKey'),
])
def test_credential_like_headers_in_config_warn_with_the_secret_alternative(type_id, config, hint):
    if config is None:
        config = {'createIncidentUrl': 'https://h.example.com/i', 'createIncidentJson': '{}',
                  'createIncidentResponseKey': 'id', 'getIncidentUrl': 'https://h.example.com/i/{{{external.system.id}}}',
                  'getIncidentResponseExternalTitleKey': 't', 'viewIncidentUrl': 'https://h.example.com/v',
                  'updateIncidentUrl': 'https://h.example.com/u', 'updateIncidentJson': '{}',
                  'headers': {'X-Auth-Token': 't', 'Accept': 'application/json'}}
    report = spec.validate_specs([{'connector_id': 'c', 'name': 'c', 'connector_type_id': type_id, 'config': config,
                                   'secrets': {'apiKey': 'k'} if type_id == '.gen-ai' else {}}])
    warned = [w for w in report.warnings if w['path'].startswith('/config/headers/')]
    assert len(warned) == 1 and hint in warned[0]['hint'] and 'looks like a credential' in warned[0]['message']
    assert spec.credential_header('Proxy-Authorization') and spec.credential_header('api-key')
    assert not spec.credential_header('Content-Type') and not spec.credential_header('X-Team')

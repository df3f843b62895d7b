"""The probe without network: classification, SSE judgement, headers, redaction, the runner's settling and the reports."""
import base64
import json
import xml.etree.ElementTree as ET

import pytest

# the import makes the collection importable
import harness  # pylint: disable=unused-import
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import (
    probe, probe_classes, probe_kibana, probe_reports, probe_sse, probe_stages, probe_targets, probe_wire)

SECRET = 'sk-canary-unit-0123456789'


def gen_ai(config=None, secrets=None, **kw):
    base = {'apiProvider': 'Other', 'apiUrl': 'https://llm.example.com/v1/chat/completions', 'defaultModel': 'llama3.1'}
    base.update(config or {})
    return probe_targets.Target(connector_id=kw.pop('connector_id', 'llm'), connector_type_id='.gen-ai', config=base,
                                secrets={'apiKey': SECRET} if secrets is None else secrets, **kw)


# ------------------------------------------------------------------ Kibana's texts -> classes
@pytest.mark.parametrize('service_message,klass', [
    ('Status code: 401. Message: Unauthorized API Error - Incorrect API key provided.', 'auth'),
    ('Status code: 403. Message: API Error: Forbidden', 'auth'),
    ('Status code: 422. Message: API Error: Unprocessable Entity - The model `bad model` does not exist',
     'model_not_found'),
    ('Status code: 404. Message: API Error: Not Found - The model `x` does not exist or you do not have access to it.',
     'model_not_found'),
    ('Status code: 404. Message: API Error: Not Found', 'endpoint_not_found'),
    ('Status code: 429. Message: API Error: Too Many Requests - Rate limit reached for requests', 'rate_limited'),
    ('Status code: 502. Message: API Error: Bad Gateway', 'upstream_error'),
    ('Status code: 504. Message: API Error: Gateway Time-out', 'timeout'),
    ('Status code: 400. Message: API Error: Bad Request', 'bad_request'),
    ('Status code: undefined. Message: Unexpected API Error: ENOTFOUND - getaddrinfo ENOTFOUND llm.invalid', 'dns'),
    ('Status code: undefined. Message: Unexpected API Error: ECONNREFUSED - connect ECONNREFUSED 127.0.0.1:9',
     'connect'),
    ('Status code: undefined. Message: Unexpected API Error: ECONNABORTED - timeout of 120000ms exceeded', 'timeout'),
    ('Certificate error: Status code: undefined. Message: Unexpected API Error: UNABLE_TO_VERIFY_LEAF_SIGNATURE - '
     'unable to verify the first certificate. Please check if your PKI certificates are valid or adjust SSL '
     'verification mode.', 'tls_server'),
    ("TLS handshake failed: Status code: undefined. Message: Unexpected API Error: ERR_TLS_CERT_ALTNAME_INVALID - "
     "Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ", 'tls_server'),
    ('Status code: undefined. Message: Unexpected API Error: EPROTO - read EPROTO tlsv13 alert certificate required',
     'tls_client_cert'),
    ('Invalid or inaccessible PKI certificates: Invalid Certificate data file format: ...', 'tls_client_cert'),
    ('Response validation failed (Error: [usage]: expected a plain object value, but found [undefined] instead.)',
     'bad_response'),
    ('error configuring connector action: target url "http://x" is not added to the Kibana config '
     'xpack.actions.allowedHosts', 'kibana_config'),
    ('Sub action "test" is not registered. Connector id: x. Connector name: OpenAI. Connector type: .gen-ai',
     'kibana_error'),
])
def test_kibana_service_messages_are_classified(service_message, klass):
    assert probe_kibana.classify_kibana_message('an error occurred while running the action', service_message)[0] == klass


def test_kibana_200_with_status_error_is_a_failure():
    stage = {'name': 'kibana_test', 'via': 'kibana'}
    probe_kibana.judge_kibana_answer(stage, {'status': 'error', 'connector_id': 'x',
                                             'message': 'an error occurred while running the action',
                                             'service_message': 'Status code: 401. Message: Unauthorized API Error',
                                             'retry': True})
    assert stage['status'] == 'failed'
    assert stage['class'] == 'auth'
    assert stage['http_status'] == 401
    assert 'HTTP 200 with status error' in stage['detail']


def test_kibana_ok_answer_records_usage():
    stage, result = {}, {'usage': None, 'model': None}
    probe_kibana.judge_kibana_answer(stage, {'status': 'ok', 'connector_id': 'x', 'data': {
        'model': 'llama3.1', 'usage': {'prompt_tokens': 1, 'completion_tokens': 2, 'total_tokens': 3},
        'choices': [{'message': {'role': 'assistant', 'content': 'hi'}}]}}, result)
    assert stage['status'] == 'ok'
    assert result == {'usage': {'prompt_tokens': 1, 'completion_tokens': 2, 'total_tokens': 3}, 'model': 'llama3.1'}


@pytest.mark.parametrize('status,text,klass', [
    (400, '<html><head><title>400 No required SSL certificate was sent</title></head></html>', 'tls_client_cert'),
    (400, '<html><head><title>400 The SSL certificate error</title></head></html>', 'tls_client_cert'),
    (401, '{"error": {"message": "bad key"}}', 'auth'),
    (404, '{"error": {"code": "model_not_found", "message": "The model `m` does not exist"}}', 'model_not_found'),
    (404, '{"error": {"message": "Unknown request URL"}}', 'endpoint_not_found'),
    (429, '', 'rate_limited'),
    (503, '', 'upstream_error'),
])
def test_http_statuses_are_classified(status, text, klass):
    assert probe_classes.class_for_status(status, text) == klass


# ------------------------------------------------------------------ what goes upstream
def test_headers_as_kibana_sends_them():
    target = gen_ai({'headers': {'X-Team': 'sre', 'authorization': 'overridden'}})
    headers = probe_stages.request_headers(target)
    assert headers['Authorization'] == 'Bearer %s' % SECRET
    assert 'authorization' not in headers  # Kibana's own auth header wins, case-insensitively
    assert headers['X-Team'] == 'sre'
    azure = gen_ai({'apiProvider': 'Azure OpenAI', 'apiUrl': 'https://r.openai.azure.com/openai/deployments/d/'
                    'chat/completions?api-version=2024-02-01'})
    assert probe_stages.request_headers(azure)['api-key'] == SECRET
    assert 'Authorization' not in probe_stages.request_headers(azure)
    openai = gen_ai({'apiProvider': 'OpenAI', 'organizationId': 'org', 'projectId': 'proj'})
    assert probe_stages.request_headers(openai)['OpenAI-Organization'] == 'org'
    assert probe_stages.request_headers(openai)['OpenAI-Project'] == 'proj'


def test_stream_options_only_for_official_endpoints():
    options = probe_targets.Options(via='direct')
    other = probe_stages.completion_body(gen_ai(), options, stream=True)
    assert other == {'messages': [{'role': 'user', 'content': 'Hello world'}], 'model': 'llama3.1', 'stream': True}
    official = gen_ai({'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/chat/completions',
                       'defaultModel': 'gpt-4.1'})
    assert probe_stages.completion_body(official, options, stream=True)['stream_options'] == {'include_usage': True}
    assert 'stream' not in probe_stages.completion_body(official, options, stream=False)
    assert probe_stages.completion_body(official, probe_targets.Options(model='gpt-4o'), stream=False)['model'] == 'gpt-4o'


def test_pki_applies_only_for_other_with_verification_mode():
    pki = {'apiKey': SECRET, 'certificateData': 'Y2VydA==', 'privateKeyData': 'a2V5'}
    assert probe_classes.pki_applies(gen_ai({'verificationMode': 'full'}, pki))
    assert not probe_classes.pki_applies(gen_ai({}, pki))
    assert not probe_classes.pki_applies(gen_ai({'apiProvider': 'OpenAI', 'verificationMode': 'full'}, pki))
    text = probe_classes.hint('tls_client_cert', gen_ai({}, pki), probe_targets.Options())
    assert 'verificationMode' in text


# ------------------------------------------------------------------ SSE judgement
class FakeResponse(probe_wire.Response):
    def __init__(self, pieces, content_type='text/event-stream; charset=utf-8', complete=True):
        super(FakeResponse, self).__init__()
        self.status = 200
        self.headers = {'content-type': content_type}
        self.sent_at = 100.0
        self.pieces = pieces
        self.complete = complete


def events(texts):
    return [('data: %s\n\n' % t).encode() for t in texts]


CHUNKS = ['{"choices":[{"delta":{"content":"Hel"}}]}', '{"choices":[{"delta":{"content":"lo"}}]}',
          '{"choices":[{"delta":{}}],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}}', '[DONE]']


def test_stream_arriving_over_time_is_ok():
    pieces = [(100.05 + 0.02 * i, data) for i, data in enumerate(events(CHUNKS))]
    verdict = probe_sse.judge_stream(FakeResponse(pieces))
    assert verdict['class'] is None
    assert verdict['events'] == 4 and verdict['reads'] == 4
    assert verdict['first_event_ms'] == 50
    assert verdict['usage']['total_tokens'] == 4


def test_stream_arriving_at_once_is_buffered():
    pieces = [(100.4, b''.join(events(CHUNKS)))]
    verdict = probe_sse.judge_stream(FakeResponse(pieces))
    assert verdict['class'] == 'stream_buffered'
    assert 'all 4 events arrived at once after 400 ms' in verdict['detail']


def test_stream_in_two_late_reads_is_buffered_but_in_two_spread_reads_is_not():
    first, rest = events(CHUNKS)[0], b''.join(events(CHUNKS)[1:])
    assert probe_sse.judge_stream(FakeResponse([(100.400, first), (100.401, rest)]))['class'] == 'stream_buffered'
    assert probe_sse.judge_stream(FakeResponse([(100.1, first), (100.4, rest)]))['class'] is None
    # an event split over two reads counts when its last byte arrived
    assert probe_sse.judge_stream(FakeResponse([(100.1, first[:10]), (100.4, first[10:] + rest)]))['class'] == \
        'stream_buffered'


def test_stream_without_done_or_sse():
    pieces = [(100.1 + 0.02 * i, data) for i, data in enumerate(events(CHUNKS[:3]))]
    assert probe_sse.judge_stream(FakeResponse(pieces, complete=False))['class'] == 'stream_incomplete'
    as_json = [(100.1, b'{"choices": [], "usage": {}}')]
    verdict = probe_sse.judge_stream(FakeResponse(as_json, content_type='application/json'))
    assert verdict['class'] == 'stream_not_sse'
    assert "'application/json'" in verdict['detail']
    assert probe_sse.judge_stream(FakeResponse([(100.1, b': keep-alive\n\n')]))['class'] == 'stream_not_sse'


def test_sse_parser_handles_crlf_and_events_split_across_reads():
    parsed = probe_sse.parse_sse([(1.0, b'data: {"a"'), (2.0, b':1}\r\n\r\ndata: [DO'), (3.0, b'NE]\n\n')])
    assert [(e['data'], e['at'], e['read']) for e in parsed] == [('{"a":1}', 2.0, 1), ('[DONE]', 3.0, 2)]


# ------------------------------------------------------------------ secrets never leave
def test_redactor_masks_secret_values_and_pem_lines():
    pem = '-----BEGIN PRIVATE KEY-----\n' + 'A' * 64 + '\n-----END PRIVATE KEY-----\n'
    target = gen_ai(secrets={'apiKey': SECRET, 'privateKeyData': base64.b64encode(pem.encode()).decode()})
    text = target.redactor('key %s and line %s' % (SECRET, 'A' * 64))
    assert SECRET not in text and 'A' * 64 not in text
    assert text.count(probe_targets.MASK) == 2


def test_results_are_redacted(monkeypatch):
    target = gen_ai()

    def fake_direct(result, tgt, options, gates):
        result['stages'].append({'name': 'auth', 'via': 'direct', 'status': 'failed', 'class': 'auth',
                                 'detail': 'HTTP 401: Incorrect API key provided: %s' % SECRET})
    monkeypatch.setattr(probe_stages, 'direct_part', fake_direct)
    result = probe.test_target(target, probe_targets.Options(via='direct'))
    assert result['status'] == 'failed' and result['class'] == 'auth'
    assert SECRET not in json.dumps(result)


def test_both_prefers_direct_class_but_kibana_side_problems_first(monkeypatch):
    def fake_kibana(klass):
        def run(result, target, options, client, find_live, gates):
            result['stages'].append({'name': 'kibana_test', 'via': 'kibana', 'status': 'failed', 'class': klass,
                                     'detail': 'kibana says %s' % klass})
        return run

    def fake_direct(result, target, options, gates):
        result['stages'].append({'name': 'stream', 'via': 'direct', 'status': 'failed', 'class': 'stream_buffered',
                                 'detail': 'buffered'})
    monkeypatch.setattr(probe_stages, 'direct_part', fake_direct)
    monkeypatch.setattr(probe_kibana, 'kibana_part', fake_kibana('kibana_error'))
    result = probe.test_target(gen_ai(), probe_targets.Options(via='both'))
    assert result['class'] == 'stream_buffered'
    assert 'also kibana stage kibana_test: kibana_error' in result['message']
    monkeypatch.setattr(probe_kibana, 'kibana_part', fake_kibana('not_found'))
    assert probe.test_target(gen_ai(), probe_targets.Options(via='both'))['class'] == 'not_found'


# ------------------------------------------------------------------ targets
def test_targets_from_specs_skips_absent_applies_defaults_and_pki():
    specs = [
        {'connector_id': 'a', 'connector_type_id': '.gen-ai',
         'config': {'apiProvider': 'OpenAI', 'apiUrl': 'https://api.openai.com/v1/x'}},
        {'connector_id': 'gone', 'state': 'absent'},
        {'connector_id': 'b', 'connector_type_id': '.gen-ai', 'config': {'apiProvider': 'Other'},
         'pki': {'certificate': 'c'}},
        {'connector_id': 'c', 'connector_type_id': '.gen-ai', 'config': {'apiProvider': 'Other'},
         'space_id': 'sec', 'pki': {'certificate': 'bad'}},
    ]

    def encoder(block):
        if block['certificate'] == 'bad':
            raise ValueError('pki.certificate: not a PEM certificate')
        return {'certificateData': 'Y2VydA=='}

    def defaults(type_id, config):
        return dict({'defaultModel': 'gpt-4.1'}, **config) if config.get('apiProvider') == 'OpenAI' else config
    targets = probe_targets.targets_from_specs(specs, 'default', pki_encoder=encoder, defaults=defaults)
    assert [t.connector_id for t in targets] == ['a', 'b', 'c']
    assert targets[0].config['defaultModel'] == 'gpt-4.1'
    assert targets[1].secrets == {'certificateData': 'Y2VydA=='}
    assert targets[2].space_id == 'sec'
    result = probe.test_target(targets[2], probe_targets.Options(via='direct'))
    assert result['class'] == 'config' and 'not a PEM certificate' in result['message']


def test_non_genai_is_skipped_and_ids_need_kibana():
    slack = probe_targets.Target(connector_id='s', connector_type_id='.slack', config={'x': 1})
    result = probe.test_target(slack, probe_targets.Options(via='direct'))
    assert result['status'] == 'skipped'
    bare = probe_targets.targets_from_ids(['x'], 'default')[0]
    bare.connector_type_id = '.gen-ai'
    result = probe.test_target(bare, probe_targets.Options(via='direct'))
    assert result['status'] == 'failed' and result['class'] == 'config'
    assert 'never returns secrets' in result['message']


def test_bad_api_url_is_a_config_failure():
    result = probe.test_target(gen_ai({'apiUrl': 'ftp://x/y'}), probe_targets.Options(via='direct'))
    assert result['class'] == 'config'
    assert [s['status'] for s in result['stages']][0] == 'failed'


# ------------------------------------------------------------------ reports
RESULTS = [
    {'connector_id': 'ok-one', 'space_id': 'default', 'via': 'both', 'status': 'ok', 'class': None, 'hint': None,
     'message': 'all passed', 'latency_ms': 120, 'usage': {'total_tokens': 10}, 'stages': [
         {'name': 'kibana_test', 'via': 'kibana', 'status': 'ok', 'latency_ms': 20, 'detail': 'fine'}]},
    {'connector_id': 'bad|one', 'space_id': 'sec', 'via': 'direct', 'status': 'failed', 'class': 'stream_buffered',
     'hint': 'proxy_buffering off', 'message': 'all <4> events at once', 'latency_ms': 400, 'usage': None,
     'stages': [{'name': 'stream', 'via': 'direct', 'status': 'failed', 'class': 'stream_buffered',
                 'latency_ms': 400, 'ttfb_ms': 399, 'detail': 'all <4> events & more'}]},
    {'connector_id': 'slack', 'space_id': 'default', 'via': 'kibana', 'status': 'skipped', 'class': None,
     'hint': None, 'message': 'only .gen-ai', 'latency_ms': 3, 'usage': None, 'stages': []},
]


def test_junit_is_well_formed_with_failures_and_skips():
    root = ET.fromstring(probe_reports.junit_xml(RESULTS))
    suite = root.find('testsuite')
    assert (suite.get('tests'), suite.get('failures'), suite.get('skipped')) == ('3', '1', '1')
    cases = suite.findall('testcase')
    assert cases[1].get('classname') == 'connectors.sec'
    failure = cases[1].find('failure')
    assert failure.get('type') == 'stream_buffered'
    assert 'proxy_buffering off' in failure.get('message')
    assert 'all <4> events & more' in failure.text
    assert cases[2].find('skipped') is not None


def test_markdown_summary_escapes_pipes_and_lists_failed_stages():
    text = probe_reports.markdown_summary(RESULTS)
    assert '3 connectors: 1 ok, 1 failed, 1 skipped' in text
    assert '| bad\\|one | sec | direct | **failed** | stream_buffered | 400 ms |' in text
    assert '- direct/stream: failed [stream_buffered] 400 ms (first byte 399 ms)' in text


def test_write_report_creates_folders(tmp_path):
    path = tmp_path / 'a' / 'b' / 'report.md'
    probe_reports.write_report(str(path), 'hello')
    assert path.read_text() == 'hello'
    probe_reports.write_report(str(path), 'again')
    assert path.read_text() == 'again'
    assert [p.name for p in path.parent.iterdir()] == ['report.md']

"""The OpenAI-compatible simulator, run as a real process and spoken to over HTTP(S)."""
import http.client
import json
import socket
import ssl
import urllib.parse

import pytest
import trustme

pytestmark = pytest.mark.integration

CHAT = {'model': 'gpt-4.1', 'messages': [{'role': 'user', 'content': 'Hello world'}]}


def call(sim, method, path, body=None, headers=None, context=None):
    url = urllib.parse.urlsplit(sim.url)
    if url.scheme == 'https':
        conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, dict(resp.getheaders()), raw
    finally:
        conn.close()


def test_completion_has_choices_and_usage(openai_sim_factory):
    sim = openai_sim_factory('--api-key', 'sim-key-1')
    status, headers, raw = call(sim, 'POST', '/v1/chat/completions', CHAT, {'Authorization': 'Bearer sim-key-1'})
    assert status == 200
    assert headers['Content-Type'] == 'application/json'
    answer = json.loads(raw)
    assert answer['object'] == 'chat.completion'
    assert answer['model'] == 'gpt-4.1'
    assert answer['choices'][0]['message'] == {'role': 'assistant', 'content': 'Hello there! How may I assist you today?'}
    assert answer['choices'][0]['finish_reason'] == 'stop'
    assert answer['usage'] == {'prompt_tokens': 2, 'completion_tokens': 8, 'total_tokens': 10}


def test_max_tokens_truncates_with_finish_reason_length(openai_sim_factory):
    sim = openai_sim_factory()
    status, _h, raw = call(sim, 'POST', '/v1/chat/completions', dict(CHAT, max_tokens=2))
    answer = json.loads(raw)
    assert status == 200
    assert answer['choices'][0]['message']['content'] == 'Hello there!'
    assert answer['choices'][0]['finish_reason'] == 'length'
    assert answer['usage']['completion_tokens'] == 2


def read_raw_stream(sim, body, headers=None):
    """Send a stream request over a plain socket; return (status line, headers, list of HTTP chunks)."""
    url = urllib.parse.urlsplit(sim.url)
    data = json.dumps(body).encode()
    head = ['POST /v1/chat/completions HTTP/1.1', 'Host: %s:%s' % (url.hostname, url.port),
            'Content-Type: application/json', 'Content-Length: %d' % len(data), 'Connection: close']
    head += ['%s: %s' % kv for kv in (headers or {}).items()]
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(('\r\n'.join(head) + '\r\n\r\n').encode() + data)
        buf = b''
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            buf += piece
    header_blob, _sep, rest = buf.partition(b'\r\n\r\n')
    lines = header_blob.decode().split('\r\n')
    headers = dict(line.split(': ', 1) for line in lines[1:])
    chunks = []
    while rest:
        size_line, _sep, rest = rest.partition(b'\r\n')
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(rest[:size])
        rest = rest[size + 2:]
    return lines[0], headers, chunks


def test_stream_is_real_sse_one_event_per_chunk_ending_with_done(openai_sim_factory):
    sim = openai_sim_factory('--chunk-delay-ms', '5')
    status, headers, chunks = read_raw_stream(sim, dict(CHAT, stream=True))
    assert status.startswith('HTTP/1.1 200')
    assert headers['Content-Type'].startswith('text/event-stream')
    assert headers['Transfer-Encoding'] == 'chunked'
    assert 'Content-Length' not in headers
    # every event travels in its own HTTP chunk: the server writes them one at a time
    assert all(c.startswith(b'data: ') and c.endswith(b'\n\n') for c in chunks)
    assert chunks[-1] == b'data: [DONE]\n\n'
    events = [json.loads(c[6:]) for c in chunks[:-1]]
    assert events[0]['choices'][0]['delta'] == {'role': 'assistant', 'content': ''}
    text = ''.join(e['choices'][0]['delta'].get('content', '') for e in events)
    assert text == 'Hello there! How may I assist you today?'
    assert events[-1]['choices'][0]['finish_reason'] == 'stop'
    assert not any('usage' in e for e in events)  # only when stream_options.include_usage asks for it


def test_stream_usage_chunk_when_asked(openai_sim_factory):
    sim = openai_sim_factory('--chunk-delay-ms', '0')
    _s, _h, chunks = read_raw_stream(sim, dict(CHAT, stream=True, stream_options={'include_usage': True}))
    last_event = json.loads(chunks[-2][6:])
    assert last_event['choices'] == []
    assert last_event['usage']['total_tokens'] == 10


def test_auth_errors_in_openai_shape_and_azure_header(openai_sim_factory):
    sim = openai_sim_factory('--api-key', 'sim-key-2')
    status, _h, raw = call(sim, 'POST', '/v1/chat/completions', CHAT, {'Authorization': 'Bearer nope-nope'})
    assert status == 401
    error = json.loads(raw)['error']
    assert error['code'] == 'invalid_api_key'
    assert 'nope-nope' not in error['message']
    status, _h, raw = call(sim, 'POST', '/v1/chat/completions', CHAT)
    assert status == 401
    assert "didn't provide an API key" in json.loads(raw)['error']['message']
    status, _h, _raw = call(sim, 'POST', '/openai/deployments/dep1/chat/completions?api-version=2024-02-01',
                            CHAT, {'api-key': 'sim-key-2'})
    assert status == 200


def test_unknown_model_404_like_openai_or_422_like_kibana_simulator(openai_sim_factory):
    sim = openai_sim_factory('--model', 'llama3.1')
    status, _h, raw = call(sim, 'POST', '/v1/chat/completions', CHAT)
    assert status == 404
    assert json.loads(raw)['error']['code'] == 'model_not_found'
    status, _h, _raw = call(sim, 'POST', '/v1/chat/completions', dict(CHAT, model='llama3.1'))
    assert status == 200
    sim422 = openai_sim_factory('--model', 'llama3.1', '--unknown-model-status', '422')
    status, _h, raw = call(sim422, 'POST', '/v1/chat/completions', dict(CHAT, model='bad model'))
    assert status == 422
    assert json.loads(raw) == {'error': {'message': 'The model `bad model` does not exist',
                                         'type': 'invalid_request_error', 'param': None, 'code': None}}


def test_models_list_and_bad_requests(openai_sim_factory):
    sim = openai_sim_factory('--model', 'a', '--model', 'b')
    status, _h, raw = call(sim, 'GET', '/v1/models')
    assert status == 200
    assert [m['id'] for m in json.loads(raw)['data']] == ['a', 'b']
    status, _h, raw = call(sim, 'POST', '/v1/chat/completions', {'messages': CHAT['messages']})
    assert status == 400
    assert 'model' in json.loads(raw)['error']['message']
    status, _h, _raw = call(sim, 'POST', '/v1/nothing', CHAT)
    assert status == 404


def test_faults_count_down_then_recover(openai_sim_factory):
    sim = openai_sim_factory('--fault', 'status=429:2')
    for _request in range(2):
        status, headers, raw = call(sim, 'POST', '/v1/chat/completions', CHAT)
        assert status == 429
        assert headers['Retry-After'] == '1'
        assert json.loads(raw)['error']['code'] == 'rate_limit_exceeded'
    status, _h, _raw = call(sim, 'POST', '/v1/chat/completions', CHAT)
    assert status == 200


@pytest.mark.parametrize('fault,check', [
    ('no_usage', lambda a: 'usage' not in a and 'choices' in a),
    ('no_choices', lambda a: 'choices' not in a and 'usage' in a),
])
def test_response_shape_faults(openai_sim_factory, fault, check):
    sim = openai_sim_factory()
    assert sim.sim('POST', '/_sim/config', {'fault': fault})[0] == 200
    status, _h, raw = call(sim, 'POST', '/v1/chat/completions', CHAT)
    assert status == 200
    assert check(json.loads(raw))


def test_not_json_and_drop_faults(openai_sim_factory):
    sim = openai_sim_factory('--fault', 'not_json:1')
    status, headers, raw = call(sim, 'POST', '/v1/chat/completions', CHAT)
    assert status == 200 and headers['Content-Type'] == 'text/html' and raw.startswith(b'<html>')
    sim.sim('POST', '/_sim/config', {'fault': 'drop:1'})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(sim, 'POST', '/v1/chat/completions', CHAT)
    assert call(sim, 'POST', '/v1/chat/completions', CHAT)[0] == 200


def test_stream_faults(openai_sim_factory):
    sim = openai_sim_factory('--chunk-delay-ms', '0', '--fault', 'stream_no_done:1')
    _s, _h, chunks = read_raw_stream(sim, dict(CHAT, stream=True))
    assert chunks and b'[DONE]' not in b''.join(chunks)
    sim.sim('POST', '/_sim/config', {'fault': 'stream_as_json:1'})
    status, headers, raw = call(sim, 'POST', '/v1/chat/completions', dict(CHAT, stream=True))
    assert status == 200 and headers['Content-Type'] == 'application/json'
    assert json.loads(raw)['object'] == 'chat.completion'


def test_requests_are_recorded_and_stats_reset(openai_sim_factory):
    sim = openai_sim_factory()
    call(sim, 'POST', '/v1/chat/completions', CHAT, {'X-Custom': 'yes', 'OpenAI-Project': 'p1'})
    recorded = sim.sim('GET', '/_sim/requests')[1]
    assert recorded[-1]['method'] == 'POST'
    assert recorded[-1]['headers']['X-Custom'] == 'yes'
    assert recorded[-1]['headers']['OpenAI-Project'] == 'p1'
    assert json.loads(recorded[-1]['body']) == CHAT
    assert sim.sim('GET', '/_sim/stats')[1] == {'total': 1, 'paths': {'POST /v1/chat/completions': 1}}
    sim.sim('POST', '/_sim/reset')
    assert sim.sim('GET', '/_sim/stats')[1]['total'] == 0


def test_tls_with_required_client_certificate(openai_sim_factory, tmp_path):
    ca = trustme.CA()
    server = ca.issue_cert('127.0.0.1', 'localhost')
    client = ca.issue_cert('probe-client', common_name='probe-client')
    server.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / 'server.pem'))
    ca.cert_pem.write_to_path(str(tmp_path / 'ca.pem'))
    sim = openai_sim_factory('--tls-cert', str(tmp_path / 'server.pem'), '--tls-key', str(tmp_path / 'server.pem'),
                             '--tls-client-ca', str(tmp_path / 'ca.pem'))
    assert sim.url.startswith('https://')
    ctx = ssl.create_default_context(cafile=str(tmp_path / 'ca.pem'))
    client.configure_cert(ctx)
    status, _h, _raw = call(sim, 'POST', '/v1/chat/completions', CHAT, context=ctx)
    assert status == 200
    recorded = json.loads(call(sim, 'GET', '/_sim/requests', context=ctx)[2])
    assert recorded[-1]['client_cert']['commonName'] == 'probe-client'
    no_cert = ssl.create_default_context(cafile=str(tmp_path / 'ca.pem'))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        call(sim, 'POST', '/v1/chat/completions', CHAT, context=no_cert)

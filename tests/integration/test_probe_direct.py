"""The direct probe (probe_stages over probe_wire) against the OpenAI simulator over real HTTP(S): every failure class it can provoke."""
import base64
import json
import socket

import pytest

# the import makes the collection importable
import harness  # pylint: disable=unused-import
import pki_factory
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import probe, probe_targets

pytestmark = pytest.mark.integration

KEY = 'canary-direct-key-4242'


def target(url, secrets=None, **config):
    base = {'apiProvider': 'Other', 'apiUrl': url, 'defaultModel': 'llama3.1'}
    base.update(config)
    return probe_targets.Target(connector_id='llm', name='LLM', connector_type_id='.gen-ai', config=base,
                                secrets={'apiKey': KEY} if secrets is None else secrets)


def run(t, **options):
    result = probe.test_target(t, probe_targets.Options(via='direct', **dict({'timeout': 10}, **options)))
    assert KEY not in json.dumps(result)
    return result


def stage(result, name):
    return next(s for s in result['stages'] if s['name'] == name)


def test_healthy_upstream_passes_every_stage_with_timings_and_usage(openai_sim_factory):
    sim = openai_sim_factory('--api-key', KEY, '--model', 'llama3.1')
    result = run(target(sim.url + '/v1/chat/completions'))
    assert result['status'] == 'ok', result
    assert [s['name'] for s in result['stages']] == ['dns', 'connect', 'auth', 'completion', 'response', 'stream']
    assert all(s['status'] == 'ok' for s in result['stages'])
    assert result['usage'] == {'prompt_tokens': 2, 'completion_tokens': 8, 'total_tokens': 10}
    assert stage(result, 'completion')['ttfb_ms'] is not None
    streamed = stage(result, 'stream')
    assert streamed['events'] == 11 and streamed['reads'] > 2
    assert 'ended with [DONE]' in streamed['detail']
    # the completion and the streaming request (sent at the same time: either may be recorded first)
    sent = sim.sim('GET', '/_sim/requests')[1]
    assert len(sent) == 2
    assert sorted(bool(json.loads(r['body']).get('stream')) for r in sent) == [False, True]
    assert all(r['headers']['Authorization'] == 'Bearer %s' % KEY for r in sent)


# The hint is checked against fixed words a user needs for each class, written here by hand: comparing it with
# probe_classes.hint() would build the expectation with the code under test (issue 9 §7).
@pytest.mark.parametrize('args,secrets,model,klass,failed_stage,hint_words', [
    (['--api-key', KEY], {'apiKey': 'wrong-one'}, 'llama3.1', 'auth', 'auth', ('refused the credentials', 'secrets.apiKey')),
    (['--api-key', KEY], {}, 'llama3.1', 'auth', 'auth', ('refused the credentials', 'secrets.apiKey')),
    (['--model', 'llama3.1'], None, 'mistral', 'model_not_found', 'completion', ("model 'mistral'", 'config.defaultModel')),
    (['--model', 'llama3.1', '--unknown-model-status', '422'], None, 'mistral', 'model_not_found', 'completion',
     ("model 'mistral'", 'config.defaultModel')),
    (['--fault', 'status=429'], None, 'llama3.1', 'rate_limited', 'completion', ('rate limiting', 'HTTP 429')),
    (['--fault', 'status=503'], None, 'llama3.1', 'upstream_error', 'completion', ('HTTP 503', 'proxy')),
    (['--fault', 'no_usage'], None, 'llama3.1', 'bad_response', 'response', ("'choices' and 'usage'",)),
    (['--fault', 'no_choices'], None, 'llama3.1', 'bad_response', 'response', ("'choices' and 'usage'",)),
    (['--fault', 'not_json'], None, 'llama3.1', 'bad_response', 'response', ("'choices' and 'usage'",)),
    (['--fault', 'stream_as_json'], None, 'llama3.1', 'stream_not_sse', 'stream', ('text/event-stream',)),
    (['--fault', 'stream_no_done'], None, 'llama3.1', 'stream_incomplete', 'stream', ('data: [DONE]',)),
])
def test_failures_are_classified_at_their_stage(openai_sim_factory, args, secrets, model, klass, failed_stage,
                                                hint_words):
    sim = openai_sim_factory(*args)
    t = target(sim.url + '/v1/chat/completions', secrets=secrets, defaultModel=model)
    result = run(t)
    assert result['status'] == 'failed'
    assert result['class'] == klass, result
    assert stage(result, failed_stage)['status'] == 'failed'
    # the class's one-line hint, filled in for this connector
    assert all(word in result['hint'] for word in hint_words), result['hint']
    assert '{' not in result['hint'], result['hint']  # every placeholder filled in


def test_unknown_model_hint_names_the_model(openai_sim_factory):
    sim = openai_sim_factory('--model', 'llama3.1')
    result = run(target(sim.url + '/v1/chat/completions', defaultModel='mistral'))
    assert "'mistral'" in result['hint']
    assert 'does not exist' in result['message']


def test_wrong_path_is_endpoint_not_found(openai_sim_factory):
    sim = openai_sim_factory()
    assert run(target(sim.url + '/v1/completions/chat'))['class'] == 'endpoint_not_found'


def test_upstream_down_is_connect():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        result = run(target('http://127.0.0.1:%d/v1/chat/completions' % port))
    assert result['class'] == 'connect'
    assert '127.0.0.1:%d' % port in result['hint']


def test_unresolvable_host_is_dns():
    result = run(target('https://llm.no-such-domain.invalid/v1/chat/completions'))
    assert result['class'] == 'dns'
    assert stage(result, 'dns')['status'] == 'failed'


def test_hanging_upstream_is_timeout(openai_sim_factory):
    sim = openai_sim_factory('--fault', 'hang')
    result = run(target(sim.url + '/v1/chat/completions'), timeout=1)
    assert result['class'] == 'timeout'


def test_dropped_connection_is_connect(openai_sim_factory):
    sim = openai_sim_factory('--fault', 'drop')
    result = run(target(sim.url + '/v1/chat/completions'))
    assert result['class'] == 'connect'
    assert 'without an answer' in result['message']


def test_stream_can_be_turned_off(openai_sim_factory):
    sim = openai_sim_factory('--fault', 'stream_as_json')
    result = run(target(sim.url + '/v1/chat/completions'), stream=False)
    assert result['status'] == 'ok'
    assert 'stream' not in [s['name'] for s in result['stages']]


# ------------------------------------------------------------------ TLS, verification modes, client certificates
@pytest.fixture(scope='module')
def tls(tmp_path_factory):
    d = tmp_path_factory.mktemp('tls')
    ca = pki_factory.CA('Probe Test CA')
    other_ca = pki_factory.CA('Some Other CA')
    files = {
        'server': ca.issue('localhost', server=True).write(d, prefix='server'),
        'localhost_only': ca.issue('localhost', server=True, san=['localhost']).write(d, prefix='localhost'),
    }
    client = ca.issue('kibana-client')
    stranger = other_ca.issue('stranger')

    def b64(text):
        return base64.b64encode(text.encode()).decode()
    return {'dir': d, 'files': files, 'ca_path': files['server']['ca'],
            'pki': {'apiKey': KEY, 'certificateData': b64(client.cert_pem), 'privateKeyData': b64(client.key_pem()),
                    'caData': b64(ca.cert_pem)},
            'stranger': {'apiKey': KEY, 'certificateData': b64(stranger.cert_pem),
                         'privateKeyData': b64(stranger.key_pem()), 'caData': b64(ca.cert_pem)}}


def tls_sim(factory, tls, which='server', client_ca=True):
    files = tls['files'][which]
    args = ['--tls-cert', files['certificate'], '--tls-key', files['private_key']]
    if client_ca:
        args += ['--tls-client-ca', tls['ca_path']]
    return factory(*args)


def test_mtls_with_full_verification_passes(openai_sim_factory, tls):
    sim = tls_sim(openai_sim_factory, tls)
    result = run(target(sim.url + '/v1/chat/completions', secrets=tls['pki'], verificationMode='full'))
    assert result['status'] == 'ok', result
    assert 'client certificate offered' in stage(result, 'tls')['detail']
    assert tls['pki']['privateKeyData'] not in json.dumps(result)


def test_client_certificate_from_another_ca_is_tls_client_cert(openai_sim_factory, tls):
    sim = tls_sim(openai_sim_factory, tls)
    result = run(target(sim.url + '/v1/chat/completions', secrets=tls['stranger'], verificationMode='full'))
    assert result['class'] == 'tls_client_cert', result


def test_pki_that_kibana_would_ignore_is_reported_with_the_reason(openai_sim_factory, tls):
    sim = tls_sim(openai_sim_factory, tls)
    result = run(target(sim.url + '/v1/chat/completions', secrets=tls['pki']), upstream_ca_path=tls['ca_path'])
    assert result['class'] == 'tls_client_cert', result
    assert 'verificationMode' in result['hint']


def test_untrusted_server_certificate_fails_with_full_and_passes_with_none(openai_sim_factory, tls):
    sim = tls_sim(openai_sim_factory, tls, client_ca=False)
    no_ca = dict(tls['pki'])
    del no_ca['caData']
    result = run(target(sim.url + '/v1/chat/completions', secrets=no_ca, verificationMode='full'))
    assert result['class'] == 'tls_server'
    assert stage(result, 'tls')['status'] == 'failed'
    assert run(target(sim.url + '/v1/chat/completions', secrets=no_ca, verificationMode='none'))['status'] == 'ok'


def test_host_name_mismatch_fails_full_but_passes_certificate(openai_sim_factory, tls):
    sim = tls_sim(openai_sim_factory, tls, which='localhost_only', client_ca=False)
    url = sim.url + '/v1/chat/completions'  # https://127.0.0.1:…; the certificate names localhost only
    result = run(target(url, secrets=tls['pki'], verificationMode='full'))
    assert result['class'] == 'tls_server'
    assert 'mismatch' in result['message'].lower() or "doesn't match" in result['message'].lower()
    assert run(target(url, secrets=tls['pki'], verificationMode='certificate'))['status'] == 'ok'


def test_api_key_only_connector_uses_the_upstream_ca_option(openai_sim_factory, tls):
    sim = tls_sim(openai_sim_factory, tls, client_ca=False)
    url = sim.url + '/v1/chat/completions'
    assert run(target(url))['class'] == 'tls_server'
    assert run(target(url), upstream_ca_path=tls['ca_path'])['status'] == 'ok'


def test_many_connectors_concurrently(openai_sim_factory):
    sim = openai_sim_factory('--api-key', KEY, '--model', 'llama3.1')
    targets = [target(sim.url + '/v1/chat/completions', secrets={'apiKey': KEY if i % 3 else 'bad'})
               for i in range(12)]
    for i, t in enumerate(targets):
        t.connector_id = 'llm-%02d' % i
    results, summary = probe.run_tests(targets, probe_targets.Options(via='direct', max_concurrency=4))
    assert [r['connector_id'] for r in results] == ['llm-%02d' % i for i in range(12)]
    assert summary == {'total': 12, 'ok': 8, 'failed': 4, 'skipped': 0}
    assert set(r['class'] for r in results if r['status'] == 'failed') == {'auth'}

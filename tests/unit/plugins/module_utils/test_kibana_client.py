"""KibanaClient: error mapping, retries, auth headers and spaces, against a scripted loopback server."""
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import kibana
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaClient, KibanaError


class Scripted(object):
    """A loopback HTTP server that answers from a script of (status, headers, body|'RESET')."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                outer.requests.append((self.command, self.path, dict(self.headers), body))
                status, headers, payload = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                if payload == 'RESET':
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if isinstance(payload, tuple) and payload[0] == 'SLEEP':  # answer after a pause
                    time.sleep(payload[1])
                    payload = payload[2]
                if payload == 'ECHO':  # a proxy that quotes the request back, headers included
                    payload = {'statusCode': status, 'error': 'Bad Gateway', 'message': 'upstream rejected %s %s '
                               'with headers %s' % (self.command, self.path, json.dumps(dict(self.headers)))}
                data = json.dumps(payload).encode() if payload is not None else b''
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    servers = []

    def make(*script):
        s = Scripted(script)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()


def test_boom_error_is_mapped_with_kibana_message_and_request(scripted):
    srv = scripted((404, {}, {'statusCode': 404, 'error': 'Not Found', 'message': 'Saved object [action/x] not found'}))
    client = KibanaClient(srv.url, api_key='k', retries=0)
    with pytest.raises(KibanaError) as exc:
        client.request('GET', '/api/actions/connector/x', space_id='team-a')
    err = exc.value
    assert err.status == 404
    assert err.message == 'Saved object [action/x] not found'
    assert err.method == 'GET' and err.path == '/s/team-a/api/actions/connector/x'
    assert 'returned 404' in str(err)


def test_get_connector_404_is_none(scripted):
    srv = scripted((404, {}, {'statusCode': 404, 'error': 'Not Found', 'message': 'nope'}))
    assert KibanaClient(srv.url, retries=0).get_connector('default', 'x') is None


def test_error_message_never_carries_request_secrets(scripted):
    hook = 'https://hooks.slack.com/services/T0/B0/SECRETVALUE'
    srv = scripted((400, {}, {'statusCode': 400, 'error': 'Bad Request',
                              'message': 'error validating action type secrets: error configuring slack action: '
                                         'target url "%s" is not added to the Kibana config' % hook}))
    client = KibanaClient(srv.url, retries=0)
    with pytest.raises(KibanaError) as exc:
        client.create_connector('default', {'name': 's', 'connector_type_id': '.slack', 'config': {},
                                            'secrets': {'webhookUrl': hook}}, 'slack')
    assert 'SECRETVALUE' not in str(exc.value)
    assert '********' in str(exc.value)


def test_headers_api_key_xsrf_and_space_prefix(scripted):
    srv = scripted((200, {}, []))
    KibanaClient(srv.url + '/', api_key='abc').list_connectors('ops')
    method, path, headers = srv.requests[0][:3]
    assert (method, path) == ('GET', '/s/ops/api/actions/connectors')
    assert headers['Authorization'] == 'ApiKey abc'
    assert headers['kbn-xsrf']


def test_basic_auth(scripted):
    srv = scripted((200, {}, []))
    KibanaClient(srv.url, username='elastic', password='pw').list_connectors('default')
    assert srv.requests[0][1] == '/api/actions/connectors'
    assert srv.requests[0][2]['Authorization'].startswith('Basic ')


def test_retries_503_then_succeeds_and_honours_retry_after(scripted):
    srv = scripted((429, {'Retry-After': '0'}, {'statusCode': 429, 'error': 'Too Many Requests', 'message': 'slow down'}),
                   (503, {}, {'statusCode': 503, 'error': 'Service Unavailable', 'message': 'x'}),
                   (200, {}, [{'id': 'a'}]))
    assert KibanaClient(srv.url, retries=3).list_connectors('default') == [{'id': 'a'}]
    assert len(srv.requests) == 3


def test_retries_are_bounded(scripted):
    srv = scripted((503, {}, {'statusCode': 503, 'error': 'Service Unavailable', 'message': 'down'}))
    with pytest.raises(KibanaError) as exc:
        KibanaClient(srv.url, retries=2).list_connectors('default')
    assert exc.value.status == 503
    assert len(srv.requests) == 3  # first try + 2 retries


def test_post_without_id_is_not_replayed_after_a_lost_answer(scripted):
    srv = scripted((200, {}, 'RESET'))
    client = KibanaClient(srv.url, retries=3)
    with pytest.raises(KibanaError) as exc:
        client.create_connector('default', {'name': 'n', 'connector_type_id': '.index', 'config': {}, 'secrets': {}})
    assert exc.value.connection_failed
    assert len(srv.requests) == 1


def test_put_is_replayed_after_a_lost_answer(scripted):
    srv = scripted((200, {}, 'RESET'), (200, {}, {'id': 'x'}))
    client = KibanaClient(srv.url, retries=3)
    assert client.update_connector('default', 'x', {'name': 'n', 'config': {}, 'secrets': {}}) == {'id': 'x'}
    assert len(srv.requests) == 2


def test_connection_refused_is_a_clear_error():
    client = KibanaClient('http://127.0.0.1:9', retries=0, timeout=2)
    with pytest.raises(KibanaError) as exc:
        client.status()
    assert exc.value.status is None
    assert 'cannot connect to Kibana' in str(exc.value)


def test_unauthorized_hints_at_credentials(scripted):
    srv = scripted((401, {}, {'statusCode': 401, 'error': 'Unauthorized', 'message': 'Unauthorized'}))
    with pytest.raises(KibanaError) as exc:
        KibanaClient(srv.url, api_key='wrong', retries=0).list_connectors('default')
    assert exc.value.status == 401 and 'api_key' in str(exc.value)


def test_bad_url_is_refused():
    with pytest.raises(KibanaError):
        KibanaClient('kibana:5601')


def test_connection_argument_spec_has_env_fallbacks_and_no_log():
    spec = kibana.connection_argument_spec()
    assert spec['api_key']['no_log'] and spec['password']['no_log']
    assert spec['kibana_url']['fallback'][1] == ['KIBANA_URL']
    assert spec['space_id']['default'] == 'default'


# ---------------------------------------------------------------------------------------------- issue 9 guards
CANARY_KEY = 'CANARY-kibana-key-8e1f'
CANARY_PASSWORD = 'CANARY-kibana-pw-0c4d'


def test_credentials_echoed_by_kibana_or_a_proxy_are_masked_in_every_form(scripted):
    srv = scripted((502, {}, 'ECHO'))
    for client in (KibanaClient(srv.url, api_key=CANARY_KEY, retries=0),
                   KibanaClient(srv.url, username='elastic', password=CANARY_PASSWORD, retries=0)):
        with pytest.raises(KibanaError) as exc:
            client.list_connectors('default')
        text = str(exc.value)
        assert 'Authorization' in text and '********' in text  # the echo is there, the credential is not
        basic = base64.b64encode(('elastic:%s' % CANARY_PASSWORD).encode()).decode()
        for leaked in (CANARY_KEY, CANARY_PASSWORD, basic, 'CANARY'):
            assert leaked not in text, text


def test_secret_in_a_quoted_url_is_masked_in_its_encoded_forms_too(scripted):
    hook = 'https://hooks.slack.com/services/T0/B0/CANARY-hook-77'
    from urllib.parse import quote
    srv = scripted((400, {}, {'statusCode': 400, 'error': 'Bad Request',
                              'message': 'bad target %s (%s, %s)' % (quote(hook, safe=''), hook,
                                                                     base64.b64encode(hook.encode()).decode())}))
    with pytest.raises(KibanaError) as exc:
        KibanaClient(srv.url, retries=0).create_connector(
            'default', {'name': 's', 'connector_type_id': '.slack', 'config': {}, 'secrets': {'webhookUrl': hook}}, 's')
    assert 'CANARY' not in str(exc.value) and str(exc.value).count('********') == 3


@pytest.mark.parametrize('status', [301, 302, 303, 307, 308])
def test_redirects_are_never_followed_and_nothing_reaches_the_other_origin(scripted, status):
    capture = scripted((200, {}, {'id': 'x'}))
    srv = scripted((status, {'Location': capture.url + '/api/actions/connector/x'}, None))
    client = KibanaClient(srv.url, api_key=CANARY_KEY, retries=2)
    with pytest.raises(KibanaError) as exc:
        client.create_connector('default', {'name': 'n', 'connector_type_id': '.index', 'config': {},
                                            'secrets': {'k': 'CANARY-body-secret'}}, 'x')
    assert capture.requests == [] and len(srv.requests) == 1
    assert exc.value.status == status and 'redirect' in str(exc.value) and 'another origin' in str(exc.value)
    assert 'CANARY' not in str(exc.value)


def test_same_origin_redirect_is_not_followed_either(scripted):
    srv = scripted((307, {'Location': '/kibana/api/actions/connectors'}, None))
    with pytest.raises(KibanaError, match='same origin'):
        KibanaClient(srv.url, retries=0).list_connectors('default')
    assert len(srv.requests) == 1


@pytest.mark.parametrize('bad', ['.', '..', '', ' .. '])
def test_ids_that_cannot_round_trip_are_refused_unsent(scripted, bad):
    srv = scripted((200, {}, {'id': 'x'}))
    client = KibanaClient(srv.url, retries=0)
    for call in (lambda: client.get_connector('default', bad), lambda: client.delete_connector('default', bad),
                 lambda: client.create_connector('default', {'name': 'n'}, bad),
                 lambda: client.update_connector('default', bad, {'name': 'n'}),
                 lambda: client.execute('default', bad, {})):
        with pytest.raises(KibanaError, match='cannot be'):
            call()
    assert srv.requests == []


@pytest.mark.parametrize('cid,path', [('a/b', 'a%2Fb'), ('a b', 'a%20b'), ('a:b', 'a%3Ab'), ('50%', '50%25'),
                                      ('x?y#z', 'x%3Fy%23z'), ('.hidden', '.hidden')])
def test_every_path_segment_is_percent_encoded(scripted, cid, path):
    srv = scripted((200, {}, {'id': cid}))
    KibanaClient(srv.url, retries=0).get_connector('my space/x', cid)
    assert srv.requests[0][1] == '/s/my%20space%2Fx/api/actions/connector/' + path


@pytest.mark.parametrize('call,payload,expected', [
    ('list', {'data': []}, 'a list of connectors'),
    ('list', [['x']], 'a list of connectors'),
    ('get', ['x'], 'the connector'),
    ('create', 'ok', 'the connector created'),
])
def test_a_200_of_the_wrong_shape_names_the_endpoint_and_what_was_expected(scripted, call, payload, expected):
    srv = scripted((200, {}, payload))
    client = KibanaClient(srv.url, retries=0)
    run = {'list': lambda: client.list_connectors('default'), 'get': lambda: client.get_connector('default', 'x'),
           'create': lambda: client.create_connector('default', {'name': 'n'}, 'x')}[call]
    with pytest.raises(KibanaError) as exc:
        run()
    text = str(exc.value)
    assert expected in text and '/api/actions/connector' in text and 'has no attribute' not in text


def test_a_slow_answer_says_kibana_did_not_answer_within_the_timeout(scripted):
    srv = scripted((200, {}, ('SLEEP', 3, [])))
    with pytest.raises(KibanaError) as exc:
        KibanaClient(srv.url, retries=1, timeout=1).list_connectors('default')
    text = str(exc.value)
    assert 'did not answer within 1 s' in text and 'timeout' in text and 'cannot connect' not in text


@pytest.mark.parametrize('option', ['ca_path', 'client_cert', 'client_key'])
def test_a_missing_tls_file_names_the_option_and_the_path(option, tmp_path):
    missing = str(tmp_path / 'nope.pem')
    kwargs = {option: missing}
    if option == 'client_key':
        kwargs['client_cert'] = __file__
    with pytest.raises(KibanaError) as exc:
        KibanaClient('https://kibana.example.com', **kwargs)
    assert option in str(exc.value) and missing in str(exc.value)


def test_validate_certs_false_warns():
    assert KibanaClient('https://kibana.example.com', validate_certs=True).warnings == []
    warnings = KibanaClient('https://kibana.example.com', validate_certs=False).warnings
    assert len(warnings) == 1 and 'validate_certs is false' in warnings[0] and 'ca_path' in warnings[0]

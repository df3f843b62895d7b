"""OpenAI-compatible endpoint for tests: ``python tests/simulators/openai --port N [options]``.

A small, stdlib-only model of what Kibana's ``.gen-ai`` connector and the collection's direct probe
talk to: an OpenAI chat completions API, a local LLM server (vLLM, Ollama, LM Studio), or an Azure
OpenAI deployment.

* ``POST .../chat/completions`` (``/v1/chat/completions``, Azure's
  ``/openai/deployments/{id}/chat/completions?api-version=…``, or any path ending so): JSON with
  ``choices`` and ``usage``; with ``"stream": true`` a real SSE stream, one ``data: {…}`` chunk per
  word sent over time, then ``data: [DONE]`` (a usage chunk first when
  ``stream_options.include_usage`` is set, as OpenAI does).
* ``GET /v1/models`` (or any path ending in ``/models``).
* Auth (only with ``--api-key``): ``Authorization: Bearer K`` or Azure's ``api-key: K``; otherwise
  401 in OpenAI's error shape. The sent key is never echoed back.
* Unknown model: 404 ``model_not_found`` as OpenAI answers it, or 422 as Kibana's own test simulator
  does (``--unknown-model-status 422``).
* Latency before the first byte (``--latency-ms``), delay between stream chunks
  (``--chunk-delay-ms``), and injectable faults (``--fault MODE[:COUNT]`` or ``POST /_sim/config``):
  ``status=<code>`` (answer that HTTP error, 429 with Retry-After), ``no_usage``, ``no_choices``,
  ``not_json``, ``drop`` (close the connection without answering), ``hang`` (answer after a very
  long time), ``stream_no_done`` (stream ends without ``[DONE]``), ``stream_as_json`` (a stream
  request answered as one ``application/json`` body, like a proxy that rewrites the stream).
* Optional TLS (``--tls-cert/--tls-key``, ``--tls-client-ca`` to require client certificates).

Test-only introspection under ``/_sim/`` (no auth, not counted): ``GET /_sim/stats``,
``GET /_sim/requests`` (the last 200 requests: method, path, headers, body), ``POST /_sim/config``
(``{"latency_ms", "chunk_delay_ms", "fault": "mode[:count]" | null}``), ``POST /_sim/reset``.

When ready it prints ``openai simulator listening on http(s)://HOST:PORT`` (flushed).
"""
import argparse
import collections
import json
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_MODELS = ['gpt-4.1', 'gpt-4o', 'gpt-3.5-turbo', 'llama3.1']
DEFAULT_REPLY = 'Hello there! How may I assist you today?'
FAULTS = ('status', 'no_usage', 'no_choices', 'not_json', 'drop', 'hang', 'stream_no_done', 'stream_as_json')
HANG_SECONDS = 600
REASONS = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 422: 'Unprocessable Entity',
           429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable'}


def parse_fault(text):
    """'status=503:2' -> {'mode': 'status', 'status': 503, 'count': 2}; count None means every request."""
    if not text:
        return None
    spec, _sep, count = text.partition(':')
    mode, _sep, arg = spec.partition('=')
    if mode not in FAULTS:
        raise ValueError('unknown fault %r (known: %s)' % (mode, ', '.join(FAULTS)))
    fault = {'mode': mode, 'count': int(count) if count else None}
    if mode == 'status':
        fault['status'] = int(arg or 500)
    return fault


def error_body(message, etype='invalid_request_error', code=None, param=None):
    return {'error': {'message': message, 'type': etype, 'param': param, 'code': code}}


def count_tokens(text):
    # a crude stand-in for a tokenizer: one token per word, at least one
    return max(1, len(str(text).split()))


class State(object):
    def __init__(self, args):
        self.lock = threading.Lock()
        self.api_key = args.api_key
        self.models = args.model or list(DEFAULT_MODELS)
        self.reply = args.reply
        self.unknown_model_status = args.unknown_model_status
        self.latency_ms = args.latency_ms
        self.chunk_delay_ms = args.chunk_delay_ms
        self.fault = parse_fault(args.fault)
        self.reset_counters()

    def reset_counters(self):
        self.total = 0
        self.paths = collections.Counter()
        self.requests = collections.deque(maxlen=200)

    def take_fault(self):
        """The fault to apply to this request (and use one up), or None."""
        with self.lock:
            fault = self.fault
            if not fault:
                return None
            if fault['count'] is not None:
                fault['count'] -= 1
                if fault['count'] <= 0:
                    self.fault = None
            return fault


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'openai-sim/1.0'
    sys_version = ''

    # ------------------------------------------------------------------ plumbing
    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # stderr, which the harness sends to a log file
        sys.stderr.write('%s %s\n' % (self.address_string(), fmt % args))

    @property
    def state(self):
        return self.server.state

    def _read_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    def _send_json(self, status, payload, extra_headers=None):
        raw = json.dumps(payload).encode()
        self._send_raw(status, raw, 'application/json', extra_headers)

    def _send_raw(self, status, raw, content_type, extra_headers=None):
        self.send_response(status, REASONS.get(status))
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(raw)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _latency(self):
        if self.state.latency_ms:
            time.sleep(self.state.latency_ms / 1000.0)

    # ------------------------------------------------------------------ routes
    def do_GET(self):
        path = self.path.split('?', 1)[0]
        if path.startswith('/_sim/'):
            return self._sim(path, None)
        body = self._record(b'')
        if path.endswith('/models'):
            return self._guarded(self._models, body)
        self._send_json(404, error_body('Unknown request URL: GET %s.' % path, code='unknown_url'))

    def do_POST(self):
        path = self.path.split('?', 1)[0]
        raw = self._read_body()
        if path.startswith('/_sim/'):
            return self._sim(path, raw)
        body = self._record(raw)
        if path.endswith('/chat/completions'):
            return self._guarded(self._chat, body)
        self._send_json(404, error_body('Unknown request URL: POST %s.' % path, code='unknown_url'))

    def _record(self, raw):
        st = self.state
        text = raw.decode('utf-8', 'replace')
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        with st.lock:
            st.total += 1
            st.paths['%s %s' % (self.command, self.path.split('?', 1)[0])] += 1
            st.requests.append({'method': self.command, 'path': self.path, 'headers': dict(self.headers.items()),
                                'body': text, 'client_cert': self._peer_subject()})
        return parsed if parsed is not None else text

    def _peer_subject(self):
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError):
            return None
        if not cert:
            return None
        return dict(x[0] for x in cert.get('subject', ()))

    def _guarded(self, route, body):
        """Latency, faults and auth, in the order a real server applies them, then the route."""
        self._latency()
        fault = self.state.take_fault()
        if fault:
            mode = fault['mode']
            if mode == 'drop':
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            if mode == 'hang':
                time.sleep(HANG_SECONDS)
            if mode == 'status':
                code = fault['status']
                headers = {'Retry-After': '1'} if code == 429 else None
                message = ('Rate limit reached for requests' if code == 429
                           else 'The server had an error while processing your request.')
                return self._send_json(code, error_body(message, etype='requests' if code == 429 else 'server_error',
                                                        code='rate_limit_exceeded' if code == 429 else None), headers)
        if not self._authorized():
            return None
        return route(body, fault)

    def _authorized(self):
        key = self.state.api_key
        if not key:
            return True
        auth = self.headers.get('Authorization') or ''
        azure = self.headers.get('api-key')
        if auth == 'Bearer %s' % key or azure == key:
            return True
        if not auth.strip() and not azure:
            message = ("You didn't provide an API key. You need to provide your API key in an Authorization header "
                       "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
            self._send_json(401, error_body(message))
        else:
            self._send_json(401, error_body('Incorrect API key provided. You can find your API key in your '
                                            'account settings.', code='invalid_api_key'))
        return False

    def _models(self, _body, _fault):
        created = int(time.time())
        self._send_json(200, {'object': 'list', 'data': [
            {'id': m, 'object': 'model', 'created': created, 'owned_by': 'simulator'} for m in self.state.models]})

    def _chat(self, body, fault):
        mode = fault['mode'] if fault else None
        if not isinstance(body, dict):
            return self._send_json(400, error_body(
                'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your '
                'HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid '
                'JSON.)'))
        model = body.get('model')
        if not model:
            return self._send_json(400, error_body('you must provide a model parameter'))
        if model not in self.state.models:
            if self.state.unknown_model_status == 422:
                return self._send_json(422, error_body('The model `%s` does not exist' % model))
            return self._send_json(404, error_body('The model `%s` does not exist or you do not have access to it.'
                                                   % model, code='model_not_found'))
        messages = body.get('messages')
        if not isinstance(messages, list) or not messages:
            return self._send_json(400, error_body("Missing required parameter: 'messages'.", param='messages',
                                                   code='missing_required_parameter'))
        words = self.state.reply.split()
        finish = 'stop'
        limit = body.get('max_tokens') or body.get('max_completion_tokens')
        if isinstance(limit, int) and 0 < limit < len(words):
            words, finish = words[:limit], 'length'
        prompt_tokens = sum(count_tokens(m.get('content') or '') for m in messages if isinstance(m, dict))
        usage = {'prompt_tokens': prompt_tokens, 'completion_tokens': len(words),
                 'total_tokens': prompt_tokens + len(words)}
        ident = 'chatcmpl-%s' % uuid.uuid4().hex[:24]
        created = int(time.time())
        if body.get('stream') is True and mode != 'stream_as_json':
            include_usage = bool((body.get('stream_options') or {}).get('include_usage'))
            return self._stream(ident, created, model, words, finish, usage if include_usage else None, mode)
        answer = {'id': ident, 'object': 'chat.completion', 'created': created, 'model': model,
                  'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': ' '.join(words)},
                               'finish_reason': finish}],
                  'usage': usage}
        if mode == 'no_usage':
            del answer['usage']
        if mode == 'no_choices':
            del answer['choices']
        if mode == 'not_json':
            return self._send_raw(200, b'<html><body>Welcome to our portal</body></html>', 'text/html')
        return self._send_json(200, answer)

    def _stream(self, ident, created, model, words, finish, usage, mode):
        self.send_response(200, 'OK')
        self.send_header('Content-Type', 'text/event-stream; charset=utf-8')
        self.send_header('Cache-Control', 'no-cache')
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        delay = self.state.chunk_delay_ms / 1000.0

        def chunk(delta, finish_reason=None):
            return {'id': ident, 'object': 'chat.completion.chunk', 'created': created, 'model': model,
                    'choices': [{'index': 0, 'delta': delta, 'finish_reason': finish_reason}]}

        events = [chunk({'role': 'assistant', 'content': ''})]
        events += [chunk({'content': (w if i == 0 else ' ' + w)}) for i, w in enumerate(words)]
        events.append(chunk({}, finish))
        if usage:
            events.append({'id': ident, 'object': 'chat.completion.chunk', 'created': created, 'model': model,
                           'choices': [], 'usage': usage})
        try:
            for i, event in enumerate(events):
                if i:
                    time.sleep(delay)
                self._write_chunk(('data: %s\n\n' % json.dumps(event)).encode())
            if mode != 'stream_no_done':
                time.sleep(delay)
                self._write_chunk(b'data: [DONE]\n\n')
            self.wfile.write(b'0\r\n\r\n')
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _write_chunk(self, data):
        self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
        self.wfile.flush()

    # ------------------------------------------------------------------ /_sim/
    def _sim(self, path, raw):
        st = self.state
        if self.command == 'GET' and path == '/_sim/stats':
            with st.lock:
                return self._send_json(200, {'total': st.total, 'paths': dict(st.paths)})
        if self.command == 'GET' and path == '/_sim/requests':
            with st.lock:
                return self._send_json(200, list(st.requests))
        if self.command == 'POST' and path == '/_sim/reset':
            with st.lock:
                st.reset_counters()
                st.fault = None
            return self._send_json(200, {'ok': True})
        if self.command == 'POST' and path == '/_sim/config':
            try:
                conf = json.loads(raw or b'{}')
                with st.lock:
                    if 'latency_ms' in conf:
                        st.latency_ms = int(conf['latency_ms'])
                    if 'chunk_delay_ms' in conf:
                        st.chunk_delay_ms = int(conf['chunk_delay_ms'])
                    if 'fault' in conf:
                        st.fault = parse_fault(conf['fault'])
            except (ValueError, TypeError) as exc:
                return self._send_json(400, {'error': str(exc)})
            return self._send_json(200, {'ok': True})
        return self._send_json(404, {'error': 'unknown simulator route %s %s' % (self.command, path)})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    ssl_context = None

    def finish_request(self, request, client_address):
        # TLS handshake in the connection's own thread, so one slow client cannot block accept()
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                sys.stderr.write('%s TLS handshake failed: %s\n' % (client_address[0], exc))
                return
        super().finish_request(request, client_address)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python tests/simulators/openai', description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8000)
    parser.add_argument('--api-key', help='require this key (Bearer or api-key header)')
    parser.add_argument('--model', action='append', help='a model the server knows (repeatable)')
    parser.add_argument('--reply', default=DEFAULT_REPLY, help='the assistant answer (one stream chunk per word)')
    parser.add_argument('--unknown-model-status', type=int, choices=(404, 422), default=404)
    parser.add_argument('--latency-ms', type=int, default=0, help='delay before every answer')
    parser.add_argument('--chunk-delay-ms', type=int, default=20, help='delay between SSE chunks')
    parser.add_argument('--fault', help='inject a fault: MODE[=ARG][:COUNT], e.g. status=503:2 or no_usage')
    parser.add_argument('--tls-cert')
    parser.add_argument('--tls-key')
    parser.add_argument('--tls-client-ca', help='require client certificates signed by this CA')
    args = parser.parse_args(argv)
    try:
        parse_fault(args.fault)
    except ValueError as exc:
        parser.error(str(exc))

    server = Server((args.host, args.port), Handler)
    server.state = State(args)
    scheme = 'http'
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            ctx.load_verify_locations(args.tls_client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        server.ssl_context = ctx
        scheme = 'https'
    host, port = server.server_address[:2]
    print('openai simulator listening on %s://%s:%d' % (scheme, host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())

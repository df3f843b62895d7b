# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``direct`` way of testing: from the machine running the test, with the spec's config and
secrets, stage by stage.

``dns`` (resolve the apiUrl host), ``connect`` (TCP), ``tls`` (https only: server verification per
``verificationMode``, the client certificate when Kibana would send one), ``auth`` (the credentials
were accepted), ``completion`` (one small chat completion answered 2xx), ``response`` (its shape is
what Kibana requires: ``choices`` and ``usage``), ``stream`` (a streaming request whose SSE events
arrive over time and end with ``[DONE]``, judged in probe_sse).

The completion goes over the connection the ``connect`` and ``tls`` stages opened; the stream
request goes over a second connection, sent as soon as the first is up, so both wait for the
upstream at the same time. After the first failure the later stages are ``skipped``: not run, or
(the stream) run but not judged. Each request holds one slot of the upstream's concurrency bound
while it is in flight.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_classes import (
    FAILED, OK, SKIPPED, StageFailed, class_for_status, ms, pki_applies, tls_alert_class)
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_kibana import completion_summary
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_sse import judge_stream
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_targets import (
    b64decode, no_gates, split_url, url_port)
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_wire import exchange, left, ssl_text

OPENAI_STREAM_URLS = ('https://api.openai.com/v1/chat/completions', 'https://api.openai.com/v1/completions')
AZURE_CHAT = re.compile(r'^https://[^./]+\.openai\.azure\.com/openai/deployments/[^/]+/(extensions/)?(chat/)?completions')


def request_headers(target):
    """The headers Kibana sends upstream (section 4.3), case-insensitively merged."""
    config, provider = target.config, target.config.get('apiProvider')
    key = target.secrets.get('apiKey') or ''
    layers = [{'Content-Type': 'application/json', 'Accept': 'application/json, text/plain, */*'},
              config.get('headers') or {}]
    extra = {}
    if 'organizationId' in config:
        extra['OpenAI-Organization'] = config['organizationId']
    if 'projectId' in config:
        extra['OpenAI-Project'] = config['projectId']
    layers.append(extra)
    layers.append({'api-key': key} if provider == 'Azure OpenAI' else {'Authorization': 'Bearer %s' % key})
    merged = {}
    for layer in layers:
        for name, value in layer.items():
            for existing in [k for k in merged if k.lower() == name.lower()]:
                del merged[existing]
            merged[name] = str(value)
    return merged


def completion_body(target, options, stream):
    body = {'messages': [{'role': 'user', 'content': options.prompt}]}
    model = options.model or target.config.get('defaultModel')
    if model:
        body['model'] = model
    if stream:
        body['stream'] = True
        url = target.config.get('apiUrl') or ''
        if url in OPENAI_STREAM_URLS or AZURE_CHAT.match(url):
            body['stream_options'] = {'include_usage': True}  # as Kibana asks official endpoints for usage
    return body


def direct_part(result, target, options, gates=None):
    """The direct test of one connector: adds its stages to ``result``."""
    if target.connector_type_id != '.gen-ai':
        result['status'] = SKIPPED
        result['message'] = 'only .gen-ai connectors are tested directly; %s is not' % target.connector_type_id
        result['stages'].append({'name': 'direct', 'via': 'direct', 'status': SKIPPED, 'detail': result['message']})
        return
    if not target.has_spec:
        result['stages'].append({'name': 'prepare', 'via': 'direct', 'status': FAILED, 'class': 'config',
                                 'detail': 'a direct test needs the spec (config and secrets); Kibana never returns '
                                           'secrets, so pass specs rather than connector_ids'})
        return
    probe = DirectProbe(target, options, gates)
    probe.run()
    result['stages'].extend(probe.stages)
    result['usage'] = probe.usage or result['usage']
    result['model'] = probe.model or result['model']


class DirectProbe(object):
    """The stages of a direct test, in order; the first failure stops the rest (they are 'skipped')."""

    ORDER = ('dns', 'connect', 'tls', 'auth', 'completion', 'response', 'stream')

    def __init__(self, target, options, gates=None):
        self.target = target
        self.options = options
        self.gates = gates or no_gates()
        self.stages = []
        self.usage = None
        self.model = None
        self.url = target.config.get('apiUrl') or ''
        self.parts = split_url(self.url)
        self.address = None
        self.current = None
        self.streaming = None   # the stream request, running next to the completion

    def _stage(self, name, status, started=None, detail=None, **extra):
        stage = {'name': name, 'via': 'direct', 'status': status, 'detail': detail}
        if started is not None:
            stage['latency_ms'] = ms(time.monotonic() - started)
        stage.update(extra)
        self.stages.append(stage)
        return stage

    def run(self):
        self.current = 'dns'
        try:
            self._run()
        except StageFailed as exc:
            self._stage(self.current, FAILED, exc.started, exc.detail,
                        **{'class': exc.klass, 'http_status': exc.http_status})
        finally:
            if self.streaming:
                self.streaming.join()
        done = set(s['name'] for s in self.stages)
        for name in self.ORDER:
            if name in done or (name == 'tls' and self.parts and self.parts.scheme != 'https'):
                continue
            if name == 'stream' and not self.options.stream:
                continue
            ran = name == 'stream' and self.streaming is not None
            self._stage(name, SKIPPED, detail='not judged: an earlier stage failed (the streaming request was sent '
                        'next to the completion)' if ran else 'not run: an earlier stage failed')

    def _run(self):
        if not self.parts or self.parts.scheme not in ('http', 'https') or not self.parts.hostname:
            raise StageFailed('config', 'apiUrl %r is not an http(s) URL with a host name' % self.url)
        host, port = self.parts.hostname, url_port(self.parts)

        self.current = 'dns'
        started = time.monotonic()
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise StageFailed('dns', 'cannot resolve %s: %s' % (host, exc.strerror or exc), started=started)
        self.address = infos[0]
        self._stage('dns', OK, started, '%s -> %s' % (host, ', '.join(sorted(set(i[4][0] for i in infos)))))

        self.current = 'tls'
        ctx = tls_context(self.target, self.options) if self.parts.scheme == 'https' else None
        with self.gates.upstream(self.target.upstream):
            self.current = 'connect'
            deadline = time.monotonic() + self.options.timeout
            sock = self._open(ctx, deadline, record=True)
            if self.options.stream:
                self.streaming = Background(self._stream, ctx)
            # one small chat completion, on the connection just opened
            self.current = 'auth'
            body = completion_body(self.target, self.options, stream=False)
            self.model = body.get('model')
            started = time.monotonic()
            resp = exchange(sock, 'POST', self._target_path(), self._host_header(), request_headers(self.target),
                            json.dumps(body).encode('utf-8'), deadline, stage_started=started)
        ttfb = resp.ttfb_ms
        if resp.status in (401, 403) or class_for_status(resp.status, resp.text) == 'tls_client_cert':
            raise StageFailed(class_for_status(resp.status, resp.text),
                              'HTTP %s: %s' % (resp.status, resp.error_text()), resp.status, started)
        self._stage('auth', OK, None, 'credentials accepted (HTTP %s)' % resp.status, latency_ms=ttfb)
        self.current = 'completion'
        if not 200 <= resp.status < 300:
            raise StageFailed(class_for_status(resp.status, resp.text),
                              'HTTP %s: %s' % (resp.status, resp.error_text()), resp.status, started)
        self._stage('completion', OK, started, 'HTTP %s from %s' % (resp.status, self._target_path()),
                    ttfb_ms=ttfb)

        self.current = 'response'
        started = time.monotonic()
        payload = resp.json()
        problem = shape_problem(payload)
        if problem:
            raise StageFailed('bad_response', problem + ' (%s)' % resp.summary(), started=started)
        self.usage = payload.get('usage')
        self.model = payload.get('model') or self.model
        self._stage('response', OK, started, completion_summary(payload), usage=self.usage)

        if self.streaming:
            self.current = 'stream'
            self.streaming.join()
            verdict, started = self.streaming.value()
            if verdict.get('usage') and not self.usage:
                self.usage = verdict['usage']
            self._stage('stream', OK, started, verdict['detail'], ttfb_ms=verdict['first_event_ms'],
                        events=verdict['events'], reads=verdict['reads'])

    def _stream(self, ctx):
        """The streaming request on a connection of its own: (verdict, started) or StageFailed."""
        with self.gates.upstream(self.target.upstream):
            deadline = time.monotonic() + self.options.timeout
            started = time.monotonic()  # waiting for a free slot is not the upstream's time
            sock = self._open(ctx, deadline)
            body = completion_body(self.target, self.options, stream=True)
            resp = exchange(sock, 'POST', self._target_path(), self._host_header(),
                            dict(request_headers(self.target), Accept='text/event-stream'),
                            json.dumps(body).encode('utf-8'), deadline, stage_started=started)
        if not 200 <= resp.status < 300:
            raise StageFailed(class_for_status(resp.status, resp.text),
                              'streaming request: HTTP %s: %s' % (resp.status, resp.error_text()), resp.status, started)
        verdict = judge_stream(resp)
        if verdict['class']:
            raise StageFailed(verdict['class'], verdict['detail'], started=started)
        return verdict, started

    # -------------------------------------------------------------- connection
    def _target_path(self):
        path = self.parts.path or '/'
        return path + ('?' + self.parts.query if self.parts.query else '')

    def _host_header(self):
        default = 443 if self.parts.scheme == 'https' else 80
        port = url_port(self.parts)
        host = self.parts.hostname
        host = '[%s]' % host if ':' in host else host
        return host if port == default else '%s:%s' % (host, port)

    def _open(self, ctx, deadline, record=False):
        """TCP connect (and TLS handshake) to the resolved address; failures classified. With
        ``record``, the connect and tls stages are added as they pass."""
        family, _t, _p, _c, address = self.address
        started = time.monotonic()
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(left(deadline))
            sock.connect(address)
        except socket.timeout:
            sock.close()
            raise StageFailed('timeout', 'TCP connect to %s:%s timed out' % address[:2], started=started)
        except OSError as exc:
            sock.close()
            raise StageFailed('connect', 'TCP connect to %s:%s failed: %s' % (
                address[0], address[1], exc.strerror or exc), started=started)
        except StageFailed as exc:
            sock.close()
            raise exc.since(started)
        if record:
            self._stage('connect', OK, started, 'TCP connection to %s:%s' % address[:2])
            self.current = 'tls'
        if ctx is None:
            return sock
        started = time.monotonic()
        try:
            tls = ctx.wrap_socket(sock, server_hostname=self.parts.hostname, do_handshake_on_connect=False)
            tls.settimeout(left(deadline))
            tls.do_handshake()
        except socket.timeout:
            sock.close()
            raise StageFailed('timeout', 'TLS handshake with %s timed out' % self.parts.hostname, started=started)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise StageFailed('tls_server', 'server certificate not accepted: %s' % (
                exc.verify_message or ssl_text(exc)), started=started)
        except ssl.SSLError as exc:
            sock.close()
            raise StageFailed(tls_alert_class(exc), 'TLS handshake failed: %s' % ssl_text(exc), started=started)
        except OSError as exc:
            sock.close()
            raise StageFailed('tls_server', 'TLS handshake failed, connection closed: %s'
                              % (exc.strerror or exc), started=started)
        except StageFailed as exc:
            sock.close()
            raise exc.since(started)
        if record:
            cert = tls.getpeercert() or {}
            detail = '%s, %s' % (tls.version(), (tls.cipher() or ('?',))[0])
            if cert.get('notAfter'):
                days = int((ssl.cert_time_to_seconds(cert['notAfter']) - time.time()) // 86400)
                detail += ', server certificate valid for %d more days' % days
            if pki_applies(self.target):
                detail += ', client certificate offered'
            self._stage('tls', OK, started, detail)
        return tls


class Background(object):
    """A call running in its own thread; ``value()`` returns its result or raises its exception."""

    def __init__(self, func, *args):
        self._result = self._error = None
        self._thread = threading.Thread(target=self._call, args=(func,) + args)
        self._thread.daemon = True
        self._thread.start()

    def _call(self, func, *args):
        try:
            self._result = func(*args)
        except Exception as exc:  # pylint: disable=broad-except  # handed to the waiting stage
            self._error = exc

    def join(self):
        self._thread.join()

    def value(self):
        self.join()
        if self._error is not None:
            raise self._error  # pylint: disable=raising-bad-type
        return self._result


_CONTEXTS = {}
_CONTEXTS_LOCK = threading.Lock()


def tls_context(target, options):
    """Server verification as Kibana would do it (section 4.3), client certificate when it would send
    one. One context per distinct setting in a run: loading a trust store costs CPU."""
    pki = pki_applies(target)
    mode = target.config.get('verificationMode') if pki else 'full'
    ca = b64decode(target.secrets['caData']) if pki and target.secrets.get('caData') else None
    client = (b64decode(target.secrets.get('certificateData') or ''),
              b64decode(target.secrets.get('privateKeyData') or '')) if pki else None
    key = (mode, ca, None if ca else options.upstream_ca_path, client)
    with _CONTEXTS_LOCK:
        if key not in _CONTEXTS:
            _CONTEXTS[key] = _new_tls_context(mode, ca, options.upstream_ca_path, client)
        return _CONTEXTS[key]


def _new_tls_context(mode, ca, upstream_ca_path, client):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = mode == 'full'
    if mode == 'none':
        ctx.verify_mode = ssl.CERT_NONE
    elif ca:
        ctx.load_verify_locations(cadata=ca)
    elif upstream_ca_path:
        ctx.load_verify_locations(cafile=upstream_ca_path)
    else:
        ctx.load_default_certs()
    if client:
        workdir = tempfile.mkdtemp(prefix='kgc-probe-')
        try:
            paths = []
            for name, text in (('client.crt', client[0]), ('client.key', client[1])):
                path = os.path.join(workdir, name)
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as f:
                    f.write(text)
                paths.append(path)
            try:
                ctx.load_cert_chain(paths[0], paths[1])
            except (ssl.SSLError, OSError) as exc:
                raise StageFailed('tls_client_cert', 'the client certificate and key cannot be used: %s'
                                  % ssl_text(exc))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return ctx


def shape_problem(payload):
    """What Kibana's RunActionResponseSchema would reject (section 4.3): usage and choices are required."""
    if not isinstance(payload, dict):
        return 'the answer is not a JSON object'
    usage = payload.get('usage')
    if not isinstance(usage, dict):
        return "the answer has no 'usage' (Kibana rejects it: Response validation failed)"
    for key in ('prompt_tokens', 'completion_tokens', 'total_tokens'):
        if not isinstance(usage.get(key), (int, float)) or isinstance(usage.get(key), bool):
            return "usage.%s is missing or not a number" % key
    choices = payload.get('choices')
    if not isinstance(choices, list):
        return "the answer has no 'choices' list"
    for i, choice in enumerate(choices):
        message = choice.get('message') if isinstance(choice, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get('role'), str):
            return 'choices[%d].message.role is missing' % i
    return None

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connectivity tests for connectors: Kibana's own test and direct probes from the controller.

Two ways, because each sees what the other cannot:

* ``kibana``: Kibana's ``_execute`` with sub-action ``test`` (reference section 4.3). Kibana answers
  HTTP 200 with ``status: error`` when the upstream fails, so the body is judged, not the status,
  and Kibana's ``service_message`` is turned into a failure class.
* ``direct``: from the machine running the test, with the spec's config and secrets, one stage at
  a time: DNS, TCP connect, TLS handshake (server verification per ``verificationMode``, client
  certificate when Kibana would send one), auth, one small chat completion, the response shape,
  then a streaming request whose SSE events must arrive over time and end with ``[DONE]``.

Every failure gets a class (``dns``, ``connect``, ``tls_server``, ``tls_client_cert``, ``auth``,
``model_not_found``, ``rate_limited``, ``timeout``, ``bad_response``, ``stream_buffered``, …) and a
one-line hint saying what to fix. Secret values never appear in results: every text that leaves
this module goes through the target's redactor.

The direct probe speaks HTTP/1.1 itself over the socket it opened, so that the stages can be
timed separately and the arrival time of every network read of a stream is known.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from xml.sax.saxutils import escape as xml_escape, quoteattr

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.spec import secret_values

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

VIA = ('kibana', 'direct', 'both')
OK, FAILED, SKIPPED = 'ok', 'failed', 'skipped'
OPENAI_STREAM_URLS = ('https://api.openai.com/v1/chat/completions', 'https://api.openai.com/v1/completions')
AZURE_CHAT = re.compile(r'^https://[^./]+\.openai\.azure\.com/openai/deployments/[^/]+/(extensions/)?(chat/)?completions')
DEFAULT_PROMPT = 'Hello world'  # the body Kibana's UI test sends
PKI_SECRETS = ('certificateData', 'privateKeyData', 'caData')
MASK = '********'
KIBANA_SIDE = ('not_found', 'kibana_unreachable', 'kibana_config', 'config')
MAX_BODY = 4 * 1024 * 1024
# A stream whose events all came in this few network reads, within this share of the whole
# request time, was held back and released at once: a buffering proxy.
BUFFERED_MAX_READS = 2
BUFFERED_MAX_SPREAD = 0.05
CLOSED_AFTER_HANDSHAKE = ('the server closed the TLS connection right after the handshake, before answering, as TLS 1.3 '
                          'servers do when they refuse the client certificate')
# TLS alerts a server sends when it does not accept the client certificate (or got none)
CLIENT_CERT_ALERTS = ('CERTIFICATE_REQUIRED', 'BAD_CERTIFICATE', 'UNKNOWN_CA', 'CERTIFICATE_UNKNOWN',
                      'CERTIFICATE_EXPIRED', 'CERTIFICATE_REVOKED', 'UNSUPPORTED_CERTIFICATE', 'ACCESS_DENIED')

HINTS = {
    'dns': 'the host name in apiUrl ({host}) does not resolve from {where}: check the name and the DNS there',
    'connect': 'nothing accepts connections at {host}:{port} from {where}: is the LLM (or its proxy) up, '
               'the port right, a firewall open?',
    'timeout': 'no answer from {host}:{port} in time: the LLM or a proxy is overloaded or hanging; raise probe_timeout '
               'only if slow answers are expected',
    'tls_server': "the server's TLS certificate is not accepted: give the CA that signed it (pki.ca / caData), fix the "
                  'host name in the certificate, or use verificationMode certificate/none for a test setup',
    'tls_client_cert': 'the server (or its mTLS proxy) does not accept the client certificate: it must be signed by a '
                       'CA the proxy trusts (ssl_client_certificate), valid, and sent at all',
    'auth': 'the server refused the credentials: check secrets.apiKey (the bearer token the server or proxy expects)',
    'model_not_found': 'the server does not know model {model!r}: set config.defaultModel to a model it serves '
                       '(GET /v1/models lists them)',
    'endpoint_not_found': 'nothing answers at this URL: apiUrl must be the full chat completions URL, e.g. '
                          'https://host/v1/chat/completions',
    'rate_limited': 'the server is rate limiting (HTTP 429): wait, lower the test concurrency, or raise the quota',
    'upstream_error': 'the server or a proxy in front of it failed (HTTP {status}): for 502/503/504 the proxy cannot '
                      'reach the LLM behind it',
    'bad_request': 'the server rejected the request (HTTP {status}): check apiUrl, apiProvider and custom headers',
    'bad_response': "the answer is not an OpenAI chat completion with 'choices' and 'usage', which Kibana requires: "
                    'is apiUrl the chat completions endpoint, and not a login page or another API?',
    'stream_buffered': 'the stream arrived all at once: a proxy buffers it; Kibana needs the events as they come '
                       '(nginx: proxy_buffering off; or send X-Accel-Buffering: no)',
    'stream_not_sse': 'a streaming request was not answered as text/event-stream: a proxy rewrites the answer or the '
                      'server ignores stream: true',
    'stream_incomplete': 'the stream ended without data: [DONE]: a proxy cut it (proxy_read_timeout?) or the server '
                         'broke off',
    'kibana_config': "Kibana's own settings block the connector: add the host to xpack.actions.allowedHosts in kibana.yml",
    'kibana_error': 'Kibana could not run the test: see the message',
    'kibana_unreachable': 'Kibana did not answer: check kibana_url and the connection options',
    'not_found': 'no such connector in Kibana (space {space}): apply the spec first, or check connector_id and space_id',
    'config': 'the spec cannot be tested as it is: see the message',
}


# ---------------------------------------------------------------------------------------------- targets
class Target(object):
    """One connector to test: what Kibana knows (id, space) and, for direct probes, config and secrets."""

    def __init__(self, connector_id=None, name=None, connector_type_id=None, space_id='default', config=None,
                 secrets=None, pki_applied=None, error=None):
        self.connector_id = connector_id
        self.name = name
        self.connector_type_id = connector_type_id
        self.space_id = space_id or 'default'
        self.config = dict(config or {})
        self.secrets = dict(secrets or {})
        self.error = error  # a problem found while preparing (e.g. unreadable PKI files)
        self.redactor = Redactor(_secret_strings(self.secrets))

    @property
    def label(self):
        return self.connector_id or self.name or '(unnamed)'

    @property
    def has_spec(self):
        return bool(self.config)


class Redactor(object):
    """Replaces secret values (and their base64 lines) in any text that leaves the probe."""

    def __init__(self, values):
        found = set()
        for value in values:
            if len(value) >= 4:
                found.add(value)
            # PEM text inside base64 secrets: mask each long line of it as well
            for line in value.splitlines():
                if len(line.strip()) >= 32:
                    found.add(line.strip())
        self.values = sorted(found, key=len, reverse=True)

    def __call__(self, text):
        if text is None:
            return None
        text = str(text)
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text


def _secret_strings(secrets):
    """Every secret value, plus the PEM text inside base64 PKI secrets (it must not leak decoded either)."""
    out = list(secret_values([{'secrets': secrets}]))
    for key in PKI_SECRETS:
        value = (secrets or {}).get(key)
        decoded = _b64decode(value) if isinstance(value, str) and value.strip() else ''
        if decoded:
            out.append(decoded)
    return out


def _b64decode(value):
    try:
        return base64.b64decode(value + '=' * (-len(value) % 4)).decode('utf-8')
    except (ValueError, TypeError, UnicodeDecodeError):
        return ''


def targets_from_specs(specs, default_space, pki_encoder=None, defaults=None):
    """Targets for specs in the spec shape. ``pki_encoder(pki_block) -> secrets`` turns a ``pki:``
    block into Kibana's base64 secrets; ``defaults(type_id, config) -> config`` fills Kibana's
    server-side defaults (so a direct probe uses the model Kibana would)."""
    targets = []
    for spec in specs:
        if (spec.get('state') or 'present') == 'absent':
            continue
        secrets = dict(spec.get('secrets') or {})
        error = None
        if spec.get('pki'):
            try:
                secrets.update(pki_encoder(spec['pki']) if pki_encoder else {})
            except Exception as exc:  # pylint: disable=broad-except  # PkiError: its text has no key material
                error = 'pki: %s' % exc
        config = dict(spec.get('config') or {})
        if defaults and spec.get('connector_type_id'):
            try:
                config = defaults(spec['connector_type_id'], config)
            except Exception:  # pylint: disable=broad-except  # unknown type: test with the config as given
                pass
        targets.append(Target(connector_id=spec.get('connector_id'), name=spec.get('name'),
                              connector_type_id=spec.get('connector_type_id'),
                              space_id=spec.get('space_id') or default_space, config=config, secrets=secrets,
                              error=error))
    return targets


def targets_from_ids(connector_ids, space_id):
    return [Target(connector_id=cid, space_id=space_id) for cid in connector_ids]


# ---------------------------------------------------------------------------------------------- options
class Options(object):
    def __init__(self, via='kibana', timeout=30, model=None, stream=True, upstream_ca_path=None,
                 max_concurrency=8, prompt=DEFAULT_PROMPT, where='the controller'):
        if via not in VIA:
            raise ValueError('via must be one of %s' % ', '.join(VIA))
        self.via = via
        self.timeout = float(timeout)
        self.model = model
        self.stream = stream
        self.upstream_ca_path = upstream_ca_path
        self.max_concurrency = max(1, int(max_concurrency or 1))
        self.prompt = prompt
        self.where = where


# ---------------------------------------------------------------------------------------------- running
def run_tests(targets, options, client=None, find_live=None):
    """Test every target, at most ``options.max_concurrency`` at a time. Returns (results, summary).

    ``client``: a KibanaClient (needed for via kibana/both). ``find_live(spec_like) -> connector``
    finds a connector that has no id by name and type (the engine's rule)."""
    def one(target):
        return test_target(target, options, client, find_live)

    if len(targets) <= 1 or options.max_concurrency == 1:
        results = [one(t) for t in targets]
    else:
        with ThreadPoolExecutor(max_workers=min(options.max_concurrency, len(targets))) as pool:
            results = list(pool.map(one, targets))
    return results, summarise(results)


def summarise(results):
    summary = {'total': len(results), OK: 0, FAILED: 0, SKIPPED: 0}
    for r in results:
        summary[r['status']] += 1
    return summary


def test_target(target, options, client=None, find_live=None):
    started = time.monotonic()
    result = {'connector_id': target.connector_id, 'name': target.name, 'connector_type_id': target.connector_type_id,
              'space_id': target.space_id, 'via': options.via, 'status': OK, 'class': None, 'hint': None,
              'message': None, 'latency_ms': None, 'usage': None, 'model': None, 'stages': []}
    try:
        if target.error:
            _fail(result, 'config', target.error)
        else:
            if options.via in ('kibana', 'both'):
                _kibana_part(result, target, options, client, find_live)
            if options.via in ('direct', 'both') and result['status'] != SKIPPED:
                _direct_part(result, target, options)
    except Exception as exc:  # pylint: disable=broad-except  # one connector's surprise must not end the run
        _fail(result, 'kibana_error' if options.via == 'kibana' else 'config', 'unexpected error: %s' % exc)
    result['latency_ms'] = _ms(time.monotonic() - started)
    _settle(result, target, options)
    return result


def _fail(result, klass, message):
    result['status'] = FAILED
    result['stages'].append({'name': 'prepare', 'via': result['via'], 'status': FAILED, 'class': klass,
                             'latency_ms': 0, 'detail': message})


def _settle(result, target, options):
    """Overall status, class, hint and message from the stages (secrets redacted everywhere)."""
    redact = target.redactor
    for stage in result['stages']:
        stage['detail'] = redact(stage.get('detail'))
    failed = [s for s in result['stages'] if s['status'] == FAILED]
    if result['status'] == SKIPPED:
        return
    if not failed:
        result['status'] = OK
        result['message'] = 'all %d stages passed' % len(result['stages'])
        return
    # via both: the direct probe names an upstream problem more precisely than Kibana's texts,
    # but what only Kibana can see (connector missing, Kibana down, its allow-list) comes first
    kibana_failed = [s for s in failed if s['via'] == 'kibana']
    direct_failed = [s for s in failed if s['via'] == 'direct']
    if kibana_failed and (not direct_failed or kibana_failed[0].get('class') in KIBANA_SIDE):
        first, others = kibana_failed[0], direct_failed
    else:
        first, others = direct_failed[0], kibana_failed
    result['status'] = FAILED
    result['class'] = first.get('class') or 'kibana_error'
    result['message'] = '%s (%s stage %s)' % (first.get('detail'), first['via'], first['name'])
    if others:
        result['message'] += '; also %s stage %s: %s' % (others[0]['via'], others[0]['name'], others[0].get('class'))
    result['hint'] = redact(hint(result['class'], target, options, first))


def hint(klass, target, options, stage=None):
    url = target.config.get('apiUrl') or ''
    parts = _split(url)
    values = {'host': parts.hostname if parts else '?', 'port': _port(parts) if parts else '?',
              'model': options.model or target.config.get('defaultModel') or '?',
              'status': (stage or {}).get('http_status') or '?', 'space': target.space_id,
              'where': 'Kibana' if (stage or {}).get('via') == 'kibana' else options.where}
    text = HINTS.get(klass, 'see the message').format(**values)
    if klass in ('tls_client_cert', 'tls_server') and _pki_ignored(target):
        text = ('the spec has PKI material (client certificate, caData), but Kibana only uses it for apiProvider '
                'Other with config.verificationMode set; set verificationMode (full, certificate or none)')
    return text


# ---------------------------------------------------------------------------------------------- via kibana
def _test_body(target, options):
    """What Kibana's UI test sends: one user message, and the model for provider Other."""
    body = {'messages': [{'role': 'user', 'content': options.prompt}]}
    model = options.model or (target.config.get('defaultModel') if target.config.get('apiProvider') == 'Other'
                              else None)
    if model:
        body['model'] = model
    return body


def _kibana_part(result, target, options, client, find_live):
    from ansible_collections.kibana_gitops.connectors.plugins.module_utils.kibana import KibanaError

    stage = {'name': 'kibana_test', 'via': 'kibana', 'status': FAILED}
    result['stages'].append(stage)
    started = time.monotonic()
    try:
        connector_id = target.connector_id
        if not connector_id or not target.connector_type_id:
            live = (client.get_connector(target.space_id, connector_id) if connector_id
                    else find_live({'name': target.name, 'connector_type_id': target.connector_type_id,
                                    'space_id': target.space_id}))
            if not live:
                stage.update({'class': 'not_found', 'detail': 'connector %s not found in space %s'
                              % (target.label, target.space_id)})
                return
            connector_id = live.get('id')
            target.connector_id = result['connector_id'] = connector_id
            target.name = result['name'] = target.name or live.get('name')
            target.connector_type_id = result['connector_type_id'] = live.get('connector_type_id')
            if not target.config and live.get('config'):
                target.config = dict(live['config'])
        if target.connector_type_id != '.gen-ai':
            result['status'] = SKIPPED
            stage.update({'status': SKIPPED, 'detail': 'only .gen-ai connectors are tested; %s is not'
                          % target.connector_type_id})
            result['message'] = stage['detail']
            return
        params = {'subAction': 'test', 'subActionParams': {
            'body': json.dumps(_test_body(target, options)), 'timeout': int(options.timeout * 1000)}}
        answer = client.execute(target.space_id, connector_id, params)
    except KibanaError as exc:
        klass = 'not_found' if exc.status == 404 else 'kibana_unreachable' if exc.status is None else 'kibana_error'
        stage.update({'class': klass, 'detail': str(exc), 'http_status': exc.status})
        return
    except Exception as exc:  # pylint: disable=broad-except  # e.g. an ambiguous name (PlanError)
        stage.update({'class': 'config', 'detail': str(exc)})
        return
    finally:
        stage['latency_ms'] = _ms(time.monotonic() - started)
    judge_kibana_answer(stage, answer, result)


def judge_kibana_answer(stage, answer, result=None):
    """Kibana's execute result (reference section 2.5): ``status: ok`` with a chat completion, or a failure."""
    if not isinstance(answer, dict):
        stage.update({'status': FAILED, 'class': 'kibana_error', 'detail': 'Kibana answered without a result body'})
        return
    if answer.get('status') == 'ok':
        data = answer.get('data') if isinstance(answer.get('data'), dict) else {}
        usage = data.get('usage')
        stage.update({'status': OK, 'detail': 'Kibana ran the test: %s' % _completion_summary(data)})
        if result is not None:
            result['usage'] = result['usage'] or usage
            result['model'] = result['model'] or data.get('model')
        return
    message = answer.get('message') or ''
    service = answer.get('service_message') or ''
    klass, status = classify_kibana_message(message, service)
    text = '%s: %s' % (message, service) if service else message
    stage.update({'status': FAILED, 'class': klass, 'http_status': status,
                  'detail': 'Kibana answered HTTP 200 with status error: %s' % text})


_STATUS = re.compile(r'Status code: (\d{3})\.')


def classify_kibana_message(message, service_message=''):
    """Failure class (and upstream HTTP status, if any) from Kibana's message/service_message texts."""
    text = '%s %s' % (message or '', service_message or '')
    match = _STATUS.search(text)
    status = int(match.group(1)) if match else None
    if 'xpack.actions.allowedHosts' in text:
        return 'kibana_config', status
    if 'error validating action params' in text or 'is not registered' in text or 'Request validation failed' in text:
        return 'kibana_error', status
    if 'Response validation failed' in text:
        return 'bad_response', status
    if ('Invalid or inaccessible PKI certificates' in text or re.search(r'No (certificate|private key) data provided', text)
            or 'ERR_OSSL' in text):
        return 'tls_client_cert', status
    if status is not None:
        return _class_for_status(status, text), status
    if 'ENOTFOUND' in text or 'EAI_AGAIN' in text:
        return 'dns', None
    if 'ECONNABORTED' in text or 'ETIMEDOUT' in text or re.search(r'timeout of \d+ms exceeded', text):
        return 'timeout', None
    if 'EPROTO' in text and any(a.lower().replace('_', ' ') in text.lower() for a in CLIENT_CERT_ALERTS):
        return 'tls_client_cert', None
    if ('Certificate error' in text or 'TLS handshake failed' in text or 'CERT' in text or 'SELF_SIGNED' in text
            or 'EPROTO' in text):
        return 'tls_server', None
    if any(code in text for code in ('ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'socket hang up')):
        return 'connect', None
    return 'kibana_error', None


def _class_for_status(status, text=''):
    lowered = (text or '').lower()
    if status == 400 and ('ssl certificate' in lowered or 'client certificate' in lowered):
        return 'tls_client_cert'  # nginx: "No required SSL certificate was sent" / "The SSL certificate error"
    if status in (401, 403):
        return 'auth'
    if status in (400, 404, 422) and 'model' in lowered:
        return 'model_not_found'
    if status == 404:
        return 'endpoint_not_found'
    if status == 429:
        return 'rate_limited'
    if status in (408, 504):
        return 'timeout'
    if status >= 500:
        return 'upstream_error'
    return 'bad_request'


# ---------------------------------------------------------------------------------------------- direct
class _StageFailed(Exception):
    def __init__(self, klass, detail, http_status=None):
        super(_StageFailed, self).__init__(detail)
        self.klass = klass
        self.detail = detail
        self.http_status = http_status


def _pki_applies(target):
    """Kibana sends the client certificate only for provider Other with verificationMode set (section 4.3)."""
    return (target.config.get('apiProvider') == 'Other' and bool(target.config.get('verificationMode'))
            and any(target.secrets.get(k) for k in PKI_SECRETS))


def _pki_ignored(target):
    return any(target.secrets.get(k) for k in PKI_SECRETS) and not _pki_applies(target)


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


def _direct_part(result, target, options):
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
    probe = DirectProbe(target, options)
    probe.run()
    result['stages'].extend(probe.stages)
    result['usage'] = probe.usage or result['usage']
    result['model'] = probe.model or result['model']


class DirectProbe(object):
    """The stages of a direct test, in order; the first failure stops the rest (they are 'skipped')."""

    ORDER = ('dns', 'connect', 'tls', 'auth', 'completion', 'response', 'stream')

    def __init__(self, target, options):
        self.target = target
        self.options = options
        self.stages = []
        self.usage = None
        self.model = None
        self.url = target.config.get('apiUrl') or ''
        self.parts = _split(self.url)
        self.address = None
        self.current = None

    def _stage(self, name, status, started=None, detail=None, **extra):
        stage = {'name': name, 'via': 'direct', 'status': status, 'detail': detail}
        if started is not None:
            stage['latency_ms'] = _ms(time.monotonic() - started)
        stage.update(extra)
        self.stages.append(stage)
        return stage

    def run(self):
        self.current = 'dns'
        try:
            self._run()
        except _StageFailed as exc:
            self._stage(self.current, FAILED, getattr(exc, 'started', None), exc.detail,
                        **{'class': exc.klass, 'http_status': exc.http_status})
        done = set(s['name'] for s in self.stages)
        for name in self.ORDER:
            if name in done or (name == 'tls' and self.parts and self.parts.scheme != 'https'):
                continue
            if name == 'stream' and not self.options.stream:
                continue
            self._stage(name, SKIPPED, detail='not run: an earlier stage failed')

    def _run(self):
        if not self.parts or self.parts.scheme not in ('http', 'https') or not self.parts.hostname:
            raise _StageFailed('config', 'apiUrl %r is not an http(s) URL with a host name' % self.url)
        host, port = self.parts.hostname, _port(self.parts)
        deadline = time.monotonic() + self.options.timeout

        self.current = 'dns'
        started = time.monotonic()
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise _timed(_StageFailed('dns', 'cannot resolve %s: %s' % (host, exc.strerror or exc)), started)
        self.address = infos[0]
        self._stage('dns', OK, started, '%s -> %s' % (host, ', '.join(sorted(set(i[4][0] for i in infos)))))

        self.current = 'tls'
        ctx = self._tls_context() if self.parts.scheme == 'https' else None
        self.current = 'connect'
        sock = self._open(ctx, deadline, record=True)

        # one small chat completion, on the connection just opened
        self.current = 'auth'
        body = completion_body(self.target, self.options, stream=False)
        self.model = body.get('model')
        started = time.monotonic()
        resp = _exchange(sock, self._target_path(), self._host_header(), request_headers(self.target),
                         json.dumps(body).encode('utf-8'), deadline, stage_started=started)
        ttfb = resp.ttfb_ms
        if resp.status in (401, 403) or _class_for_status(resp.status, resp.text) == 'tls_client_cert':
            raise _timed(_StageFailed(_class_for_status(resp.status, resp.text),
                                      'HTTP %s: %s' % (resp.status, resp.error_text()), resp.status), started)
        self._stage('auth', OK, None, 'credentials accepted (HTTP %s)' % resp.status, latency_ms=ttfb)
        self.current = 'completion'
        if not 200 <= resp.status < 300:
            raise _timed(_StageFailed(_class_for_status(resp.status, resp.text),
                                      'HTTP %s: %s' % (resp.status, resp.error_text()), resp.status), started)
        self._stage('completion', OK, started, 'HTTP %s from %s' % (resp.status, self._target_path()),
                    ttfb_ms=ttfb)

        self.current = 'response'
        started = time.monotonic()
        payload = resp.json()
        problem = _shape_problem(payload)
        if problem:
            raise _timed(_StageFailed('bad_response', problem + ' (%s)' % resp.summary()), started)
        self.usage = payload.get('usage')
        self.model = payload.get('model') or self.model
        self._stage('response', OK, started, _completion_summary(payload), usage=self.usage)

        if self.options.stream:
            self.current = 'stream'
            self._stream(ctx)

    def _stream(self, ctx):
        deadline = time.monotonic() + self.options.timeout
        started = time.monotonic()
        sock = self._open(ctx, deadline)
        body = completion_body(self.target, self.options, stream=True)
        resp = _exchange(sock, self._target_path(), self._host_header(), dict(request_headers(self.target),
                         Accept='text/event-stream'), json.dumps(body).encode('utf-8'), deadline,
                         stage_started=started)
        if not 200 <= resp.status < 300:
            raise _timed(_StageFailed(_class_for_status(resp.status, resp.text),
                                      'streaming request: HTTP %s: %s' % (resp.status, resp.error_text()),
                                      resp.status), started)
        verdict = judge_stream(resp)
        if verdict['class']:
            raise _timed(_StageFailed(verdict['class'], verdict['detail']), started)
        if verdict.get('usage') and not self.usage:
            self.usage = verdict['usage']
        self._stage('stream', OK, started, verdict['detail'], ttfb_ms=verdict['first_event_ms'],
                    events=verdict['events'], reads=verdict['reads'])

    # -------------------------------------------------------------- connection
    def _target_path(self):
        path = self.parts.path or '/'
        return path + ('?' + self.parts.query if self.parts.query else '')

    def _host_header(self):
        default = 443 if self.parts.scheme == 'https' else 80
        port = _port(self.parts)
        host = self.parts.hostname
        host = '[%s]' % host if ':' in host else host
        return host if port == default else '%s:%s' % (host, port)

    def _tls_context(self):
        """Server verification as Kibana would do it (section 4.3), client certificate when it would send one."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        pki = _pki_applies(self.target)
        mode = self.target.config.get('verificationMode') if pki else 'full'
        ca = _b64decode(self.target.secrets['caData']) if pki and self.target.secrets.get('caData') else None
        ctx.check_hostname = mode == 'full'
        if mode == 'none':
            ctx.verify_mode = ssl.CERT_NONE
        elif ca:
            ctx.load_verify_locations(cadata=ca)
        elif self.options.upstream_ca_path:
            ctx.load_verify_locations(cafile=self.options.upstream_ca_path)
        else:
            ctx.load_default_certs()
        if pki:
            workdir = tempfile.mkdtemp(prefix='kgc-probe-')
            try:
                paths = []
                for name, field in (('client.crt', 'certificateData'), ('client.key', 'privateKeyData')):
                    path = os.path.join(workdir, name)
                    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as f:
                        f.write(_b64decode(self.target.secrets.get(field) or ''))
                    paths.append(path)
                try:
                    ctx.load_cert_chain(paths[0], paths[1])
                except (ssl.SSLError, OSError) as exc:
                    raise _StageFailed('tls_client_cert', 'the client certificate and key cannot be used: %s'
                                       % _ssl_text(exc))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        return ctx

    def _open(self, ctx, deadline, record=False):
        """TCP connect (and TLS handshake) to the resolved address; failures classified. With
        ``record``, the connect and tls stages are added as they pass."""
        family, _t, _p, _c, address = self.address
        started = time.monotonic()
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_left(deadline))
            sock.connect(address)
        except socket.timeout:
            sock.close()
            raise _timed(_StageFailed('timeout', 'TCP connect to %s:%s timed out' % address[:2]), started)
        except OSError as exc:
            sock.close()
            raise _timed(_StageFailed('connect', 'TCP connect to %s:%s failed: %s' % (
                address[0], address[1], exc.strerror or exc)), started)
        if record:
            self._stage('connect', OK, started, 'TCP connection to %s:%s' % address[:2])
            self.current = 'tls'
        if ctx is None:
            return sock
        started = time.monotonic()
        try:
            tls = ctx.wrap_socket(sock, server_hostname=self.parts.hostname, do_handshake_on_connect=False)
            tls.settimeout(_left(deadline))
            tls.do_handshake()
        except socket.timeout:
            sock.close()
            raise _timed(_StageFailed('timeout', 'TLS handshake with %s timed out' % self.parts.hostname), started)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise _timed(_StageFailed('tls_server', 'server certificate not accepted: %s' % (
                exc.verify_message or _ssl_text(exc))), started)
        except ssl.SSLError as exc:
            sock.close()
            raise _timed(_StageFailed(_tls_alert_class(exc), 'TLS handshake failed: %s' % _ssl_text(exc)), started)
        except OSError as exc:
            sock.close()
            raise _timed(_StageFailed('tls_server', 'TLS handshake failed, connection closed: %s'
                                      % (exc.strerror or exc)), started)
        if record:
            cert = tls.getpeercert() or {}
            detail = '%s, %s' % (tls.version(), (tls.cipher() or ('?',))[0])
            if cert.get('notAfter'):
                days = int((ssl.cert_time_to_seconds(cert['notAfter']) - time.time()) // 86400)
                detail += ', server certificate valid for %d more days' % days
            if _pki_applies(self.target):
                detail += ', client certificate offered'
            self._stage('tls', OK, started, detail)
        return tls


def _timed(exc, started):
    exc.started = started
    return exc


def _tls_alert_class(exc):
    reason = (getattr(exc, 'reason', None) or str(exc)).upper()
    return 'tls_client_cert' if any(alert in reason for alert in CLIENT_CERT_ALERTS) else 'tls_server'


def _ssl_text(exc):
    reason = getattr(exc, 'reason', None)
    return reason.lower().replace('_', ' ') if reason else str(exc)


def _left(deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise _StageFailed('timeout', 'no answer within the probe timeout')
    return left


def _shape_problem(payload):
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


def _completion_summary(data):
    usage = data.get('usage') or {}
    choices = data.get('choices') or []
    content = ''
    if choices and isinstance(choices[0], dict):
        content = ((choices[0].get('message') or {}).get('content') or '').strip()
    text = 'model %s answered %d characters' % (data.get('model') or '?', len(content))
    if usage:
        text += ', %s tokens (%s prompt + %s completion)' % (
            usage.get('total_tokens'), usage.get('prompt_tokens'), usage.get('completion_tokens'))
    return text


# ---------------------------------------------------------------------------------------------- streaming
def judge_stream(resp):
    """Is this a real SSE stream? Content type, events, ``[DONE]``, and whether the events came over time.

    Returns {'class': None or a failure class, 'detail', 'events', 'reads', 'first_event_ms', 'usage'}."""
    content_type = resp.headers.get('content-type', '')
    events = parse_sse(resp.pieces)
    data_events = [e for e in events if e['data'] is not None]
    verdict = {'class': None, 'events': len(data_events), 'reads': len(set(e['read'] for e in data_events)),
               'first_event_ms': None, 'usage': None}
    if data_events:
        verdict['first_event_ms'] = _ms(data_events[0]['at'] - resp.sent_at)
    if not content_type.lower().startswith('text/event-stream'):
        verdict.update({'class': 'stream_not_sse', 'detail': 'the streaming request was answered with Content-Type %r, '
                        'not text/event-stream (%s)' % (content_type or 'none', resp.summary())})
        return verdict
    if not data_events:
        verdict.update({'class': 'stream_not_sse', 'detail': 'text/event-stream without any data: events (%s)'
                        % resp.summary()})
        return verdict
    for e in data_events:
        try:
            parsed = json.loads(e['data']) if e['data'] != '[DONE]' else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get('usage'), dict):
            verdict['usage'] = parsed['usage']
    total = data_events[-1]['at'] - resp.sent_at
    spread = data_events[-1]['at'] - data_events[0]['at']
    facts = '%d events in %d network reads, first after %s ms, last after %d ms' % (
        len(data_events), verdict['reads'], verdict['first_event_ms'], _ms(total))
    if data_events[-1]['data'] != '[DONE]':
        verdict.update({'class': 'stream_incomplete', 'detail': 'the stream ended without data: [DONE] (%s%s)' % (
            facts, '' if resp.complete else ', connection closed early')})
        return verdict
    if (len(data_events) >= 3 and verdict['reads'] <= BUFFERED_MAX_READS
            and spread <= BUFFERED_MAX_SPREAD * max(total, 0.001)):
        verdict.update({'class': 'stream_buffered', 'detail': 'all %d events arrived at once after %d ms (%s): the '
                        'stream was buffered on the way' % (len(data_events), _ms(total), facts)})
        return verdict
    verdict['detail'] = 'SSE arrived as it was produced: %s, ended with [DONE]' % facts
    return verdict


def parse_sse(pieces):
    """[(arrival, bytes)] -> [{'data': str or None, 'at': arrival of its last byte, 'read': index}]."""
    events = []
    buf = ''
    for index, (at, data) in enumerate(pieces):
        buf += data.decode('utf-8', 'replace').replace('\r\n', '\n')
        while '\n\n' in buf:
            block, buf = buf.split('\n\n', 1)
            lines = [line[5:].lstrip(' ') for line in block.split('\n') if line.startswith('data:')]
            if lines or block.strip():
                events.append({'data': '\n'.join(lines) if lines else None, 'at': at, 'read': index})
    return events


# ---------------------------------------------------------------------------------------------- HTTP/1.1
class _Response(object):
    def __init__(self):
        self.status = None
        self.reason = ''
        self.headers = {}
        self.pieces = []      # (arrival time, decoded body bytes) per network read
        self.sent_at = None
        self.ttfb_ms = None
        self.complete = False

    @property
    def body(self):
        return b''.join(p[1] for p in self.pieces)

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def error_text(self):
        """The server's own words: OpenAI's error.message, an HTML title (nginx), or the start of the body."""
        payload = self.json()
        if isinstance(payload, dict) and payload.get('error') is not None:
            err = payload['error']
            return str(err.get('message') if isinstance(err, dict) and err.get('message') else err)[:300]
        title = re.search(r'<title>(.*?)</title>', self.text, re.I | re.S)
        if title:
            return title.group(1).strip()[:300]
        return self.text.strip()[:300] or self.reason

    def summary(self):
        return 'HTTP %s, Content-Type %s, %d bytes' % (self.status, self.headers.get('content-type', 'none'),
                                                       len(self.body))


def _exchange(sock, path, host_header, headers, body, deadline, stage_started=None):
    """Send one request (Connection: close) and read the answer, recording when each read arrived."""
    lines = ['POST %s HTTP/1.1' % path, 'Host: %s' % host_header, 'Content-Length: %d' % len(body),
             'Connection: close']
    lines += ['%s: %s' % (k, v) for k, v in headers.items()]
    resp = _Response()
    try:
        sock.settimeout(_left(deadline))
        sock.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + body)
        resp.sent_at = time.monotonic()
        _read_response(sock, resp, deadline, stage_started or resp.sent_at)
    except _StageFailed as exc:
        raise _timed(exc, stage_started or resp.sent_at or time.monotonic())
    except socket.timeout:
        raise _timed(_StageFailed('timeout', 'no %s within the probe timeout' % (
            'answer' if resp.status is None else 'complete answer')), stage_started or time.monotonic())
    except ssl.SSLError as exc:
        # TLS 1.3: a server that rejects the client certificate says so after the handshake, with an
        # alert, or by just closing the connection (the alert may be lost with it)
        if resp.status is None and isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            raise _timed(_StageFailed('tls_client_cert', CLOSED_AFTER_HANDSHAKE + ' (%s)' % _ssl_text(exc)),
                         stage_started or time.monotonic())
        raise _timed(_StageFailed(_tls_alert_class(exc), 'TLS error: %s' % _ssl_text(exc)),
                     stage_started or time.monotonic())
    except OSError as exc:
        if resp.status is None and isinstance(sock, ssl.SSLSocket):
            raise _timed(_StageFailed('tls_client_cert', CLOSED_AFTER_HANDSHAKE + ' (%s)' % (exc.strerror or exc)),
                         stage_started or time.monotonic())
        if resp.status is None:
            raise _timed(_StageFailed('connect', 'connection closed without an answer: %s' % (exc.strerror or exc)),
                         stage_started or time.monotonic())
    finally:
        try:
            sock.close()
        except OSError:
            pass
    if resp.status is None:
        raise _timed(_StageFailed('connect', 'connection closed without an answer'), stage_started or time.monotonic())
    return resp


def _read_response(sock, resp, deadline, stage_started):
    raw = b''
    head_done = False
    chunked = False
    length = None
    body_raw = b''
    while True:
        sock.settimeout(_left(deadline))
        data = sock.recv(65536)
        now = time.monotonic()
        if not data:
            if head_done and not chunked and length is None:
                resp.complete = True
            return
        if resp.ttfb_ms is None:
            resp.ttfb_ms = _ms(now - stage_started)
        if not head_done:
            raw += data
            if b'\r\n\r\n' not in raw:
                if len(raw) > 65536:
                    raise _StageFailed('bad_response', 'HTTP headers too large or not HTTP at all')
                continue
            head, data = raw.split(b'\r\n\r\n', 1)
            _parse_head(resp, head)
            head_done = True
            chunked = 'chunked' in resp.headers.get('transfer-encoding', '').lower()
            if not chunked and resp.headers.get('content-length', '').isdigit():
                length = int(resp.headers['content-length'])
            if resp.status in (100, 101):
                raise _StageFailed('bad_response', 'unexpected HTTP %s' % resp.status)
        if chunked:
            body_raw += data
            decoded, body_raw, done = _dechunk(body_raw)
            if decoded:
                resp.pieces.append((now, decoded))
            if done:
                resp.complete = True
                return
        elif data:
            resp.pieces.append((now, data))
        if length is not None and sum(len(p[1]) for p in resp.pieces) >= length:
            resp.complete = True
            return
        if sum(len(p[1]) for p in resp.pieces) > MAX_BODY:
            raise _StageFailed('bad_response', 'the answer is larger than %d bytes' % MAX_BODY)


def _parse_head(resp, head):
    lines = head.decode('latin-1').split('\r\n')
    match = re.match(r'HTTP/\d(?:\.\d)? (\d{3}) ?(.*)', lines[0])
    if not match:
        raise _StageFailed('bad_response', 'the server did not answer HTTP: %r' % lines[0][:80])
    resp.status = int(match.group(1))
    resp.reason = match.group(2)
    for line in lines[1:]:
        if ':' in line:
            name, value = line.split(':', 1)
            resp.headers[name.strip().lower()] = value.strip()


def _dechunk(buf):
    """Decode the complete chunks at the start of buf. Returns (decoded, rest, finished)."""
    out = b''
    while True:
        end = buf.find(b'\r\n')
        if end < 0:
            return out, buf, False
        size_text = buf[:end].split(b';', 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _StageFailed('bad_response', 'broken chunked encoding')
        if size == 0:
            return out, b'', True
        if len(buf) < end + 2 + size + 2:
            return out, buf, False
        out += buf[end + 2:end + 2 + size]
        buf = buf[end + 2 + size + 2:]


# ---------------------------------------------------------------------------------------------- reports
def junit_xml(results, suite='kibana connector tests'):
    """JUnit XML (one testcase per connector) for CI job pages."""
    summary = summarise(results)
    total_time = sum((r.get('latency_ms') or 0) for r in results) / 1000.0
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<testsuites name=%s tests="%d" failures="%d" skipped="%d" time="%.3f">' % (
               quoteattr(suite), summary['total'], summary[FAILED], summary[SKIPPED], total_time),
           '  <testsuite name=%s tests="%d" failures="%d" errors="0" skipped="%d" time="%.3f">' % (
               quoteattr(suite), summary['total'], summary[FAILED], summary[SKIPPED], total_time)]
    for r in results:
        name = '%s (%s)' % (r.get('connector_id') or r.get('name'), r.get('via'))
        out.append('    <testcase classname=%s name=%s time="%.3f">' % (
            quoteattr('connectors.%s' % r.get('space_id')), quoteattr(name), (r.get('latency_ms') or 0) / 1000.0))
        stages = '\n'.join(_stage_line(s) for s in r['stages'])
        if r['status'] == FAILED:
            out.append('      <failure type=%s message=%s>%s</failure>' % (
                quoteattr(r.get('class') or 'failed'), quoteattr('%s: %s' % (r.get('class'), r.get('hint'))),
                xml_escape('%s\n%s' % (r.get('message'), stages))))
        elif r['status'] == SKIPPED:
            out.append('      <skipped message=%s/>' % quoteattr(r.get('message') or 'skipped'))
        out.append('      <system-out>%s</system-out>' % xml_escape(stages))
        out.append('    </testcase>')
    out += ['  </testsuite>', '</testsuites>', '']
    return '\n'.join(out)


def _stage_line(stage):
    timing = ''
    if stage.get('latency_ms') is not None:
        timing = ' %d ms' % stage['latency_ms']
    if stage.get('ttfb_ms') is not None:
        timing += ' (first byte %d ms)' % stage['ttfb_ms']
    klass = ' [%s]' % stage['class'] if stage.get('class') else ''
    return '%s/%s: %s%s%s - %s' % (stage['via'], stage['name'], stage['status'], klass, timing, stage.get('detail'))


def markdown_summary(results, title='Connector connectivity'):
    """A Markdown table for pipeline job pages (GitHub step summary, GitLab)."""
    summary = summarise(results)
    out = ['## %s' % title, '',
           '%d connectors: %d ok, %d failed, %d skipped' % (summary['total'], summary[OK], summary[FAILED],
                                                            summary[SKIPPED]), '',
           '| Connector | Space | Via | Status | Class | Latency | Tokens | Hint |',
           '|---|---|---|---|---|---|---|---|']
    for r in results:
        usage = r.get('usage') or {}
        out.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            _md(r.get('connector_id') or r.get('name')), _md(r.get('space_id')), r.get('via'),
            {'ok': 'ok', 'failed': '**failed**', 'skipped': 'skipped'}[r['status']], _md(r.get('class') or ''),
            '%d ms' % r['latency_ms'] if r.get('latency_ms') is not None else '', _md(usage.get('total_tokens', '')),
            _md(r.get('hint') or '')))
    failed = [r for r in results if r['status'] == FAILED]
    for r in failed:
        out += ['', '### %s: %s' % (_md(r.get('connector_id') or r.get('name')), _md(r.get('class'))), '',
                _md(r.get('message') or ''), '']
        out += ['- %s' % _md(_stage_line(s)) for s in r['stages']]
    out.append('')
    return '\n'.join(out)


def _md(value):
    return str(value).replace('|', '\\|').replace('\n', ' ')


def write_report(path, text):
    """Write atomically (a pipeline may read the file while a re-run writes it)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    fd, tmp = tempfile.mkstemp(prefix='.connector-test-', dir=folder)
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------- helpers
def _split(url):
    try:
        parts = urlsplit(url or '')
        parts.port  # pylint: disable=pointless-statement  # raises ValueError for a bad port
        return parts
    except ValueError:
        return None


def _port(parts):
    return parts.port or (443 if parts.scheme == 'https' else 80)


def _ms(seconds):
    return int(round(seconds * 1000))

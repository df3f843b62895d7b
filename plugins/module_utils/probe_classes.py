# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failure classes of a connectivity test and the one-line hint that says what to fix.

Every failed stage carries a class (``dns``, ``connect``, ``tls_server``, ``tls_client_cert``,
``auth``, ``model_not_found``, ``rate_limited``, ``timeout``, ``bad_response``, ``stream_buffered``, …);
``hint()`` fills the class's sentence in for one connector. Shared by the Kibana part
(probe_kibana), the direct stages (probe_stages) and the runner (probe).
"""
from __future__ import annotations

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_targets import PKI_SECRETS, split_url, url_port

OK, FAILED, SKIPPED = 'ok', 'failed', 'skipped'
# what only Kibana can see: with via both these win over the direct probe's class
KIBANA_SIDE = ('not_found', 'kibana_unreachable', 'kibana_config', 'config')
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


class StageFailed(Exception):
    """A stage failed with a class; ``started`` (monotonic) is when the stage began, for its latency."""

    def __init__(self, klass, detail, http_status=None, started=None):
        super(StageFailed, self).__init__(detail)
        self.klass = klass
        self.detail = detail
        self.http_status = http_status
        self.started = started

    def since(self, started):
        """Set the stage's start (unless already set) and return self, for ``raise exc.since(t)``."""
        if self.started is None:
            self.started = started
        return self


def hint(klass, target, options, stage=None):
    """The class's one-line hint, filled in for this connector (host, port, model, HTTP status, space)."""
    parts = split_url(target.config.get('apiUrl') or '')
    values = {'host': parts.hostname if parts else '?', 'port': url_port(parts) if parts else '?',
              'model': options.model or target.config.get('defaultModel') or '?',
              'status': (stage or {}).get('http_status') or '?', 'space': target.space_id,
              'where': 'Kibana' if (stage or {}).get('via') == 'kibana' else options.where}
    text = HINTS.get(klass, 'see the message').format(**values)
    if klass in ('tls_client_cert', 'tls_server') and pki_ignored(target):
        text = ('the spec has PKI material (client certificate, caData), but Kibana only uses it for apiProvider '
                'Other with config.verificationMode set; set verificationMode (full, certificate or none)')
    return text


def class_for_status(status, text=''):
    """Failure class of an upstream HTTP status (and the answer's text, for the cases a status shares)."""
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


def tls_alert_class(exc):
    """tls_client_cert when the TLS error is an alert about the client certificate, else tls_server."""
    reason = (getattr(exc, 'reason', None) or str(exc)).upper()
    return 'tls_client_cert' if any(alert in reason for alert in CLIENT_CERT_ALERTS) else 'tls_server'


def pki_applies(target):
    """Kibana sends the client certificate only for provider Other with verificationMode set (section 4.3)."""
    return (target.config.get('apiProvider') == 'Other' and bool(target.config.get('verificationMode'))
            and any(target.secrets.get(k) for k in PKI_SECRETS))


def pki_ignored(target):
    return any(target.secrets.get(k) for k in PKI_SECRETS) and not pki_applies(target)


def ms(seconds):
    return int(round(seconds * 1000))

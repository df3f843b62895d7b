# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KibanaClient: the one HTTP client for Kibana's connectors API.

Auth (API key or basic), spaces, TLS, timeouts, ``kbn-xsrf``, bounded retries with backoff, and
one exception type. Retries are safe by construction: a request is only re-sent when the server
cannot have acted on it (connection refused, 429/502/503/504) or when re-sending is harmless
(GET, PUT, DELETE, and POST to a fixed id, whose repeat answers 409). A POST without an id is
never re-sent after the request went out: the caller re-reads by name instead.
"""
from __future__ import annotations

import json
import os
import re

try:
    from urllib.parse import unquote, urlsplit
except ImportError:  # pragma: no cover - Python 2 targets
    from urllib import unquote  # type: ignore
    from urlparse import urlsplit  # type: ignore

from ansible.module_utils.basic import env_fallback

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import redact as _redaction

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc
    Retry = object

API = '/api/actions'
ROLE_API = '/api/security/role'
RETRY_STATUSES = (429, 502, 503, 504)
# Kibana (or a proxy) may ask for a long pause; a fleet run must not hang on one answer.
MAX_RETRY_AFTER = 30.0
MAX_BACKOFF = 10.0


def connection_argument_spec():
    """Connection options shared by every module that talks to Kibana (doc fragment: kibana)."""
    return dict(
        kibana_url=dict(type='str', fallback=(env_fallback, ['KIBANA_URL'])),
        api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['KIBANA_API_KEY'])),
        username=dict(type='str', fallback=(env_fallback, ['KIBANA_USERNAME'])),
        password=dict(type='str', no_log=True, fallback=(env_fallback, ['KIBANA_PASSWORD'])),
        space_id=dict(type='str', default='default'),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        client_cert=dict(type='path'),
        client_key=dict(type='path', no_log=False),
        timeout=dict(type='int', default=30),
        retries=dict(type='int', default=3),
        proxy_url=dict(type='str', no_log=True, fallback=(env_fallback, ['KIBANA_PROXY_URL'])),
    )


def proxies_for(url, proxy_url=None):
    """The proxies requests should use for ``url``.

    ``proxy_url`` (the option) for every request to Kibana; without it the standard environment variables
    HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (either case), minus the hosts that NO_PROXY lists. Read here rather
    than with requests' trust_env, which would also let ~/.netrc replace the Authorization header and
    REQUESTS_CA_BUNDLE override an explicit ca_path or validate_certs=false.
    """
    if proxy_url:
        return {'http': proxy_url, 'https': proxy_url}
    found = requests.utils.get_environ_proxies(url)
    return dict((scheme, value) for scheme, value in found.items() if scheme in ('http', 'https', 'all') and value)


def ca_bundle(ca_path=None):
    """What verifies Kibana's certificate: ca_path, else REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else the defaults."""
    return ca_path or os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE') or True


def proxy_credentials(proxies):
    """The user:password parts of proxy URLs: masked like Kibana's credentials."""
    values = set()
    for value in (proxies or {}).values():
        parts = urlsplit(value if '://' in value else 'http://' + value)
        if parts.password:
            values.update([parts.password, unquote(parts.password)])
            if parts.username:
                values.add('%s:%s' % (parts.username, parts.password))
    return values


def without_credentials(proxy):
    """A proxy URL fit for a message: scheme, host and port only."""
    parts = urlsplit(proxy if '://' in proxy else 'http://' + proxy)
    return '%s://%s%s' % (parts.scheme, parts.hostname or '', ':%s' % parts.port if parts.port else '')


class KibanaError(Exception):
    """An answer from Kibana that is not a success, or no answer at all (status None).

    Carries Kibana's own message and the request it was for; never a request body.
    """

    def __init__(self, message, status=None, method=None, path=None, kibana_error=None, retried=False):
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.kibana_error = kibana_error
        # the answer came to a re-sent request (an earlier attempt got no answer and may have been applied)
        self.retried = retried
        super(KibanaError, self).__init__(str(self))

    def __str__(self):
        where = '%s %s' % (self.method, self.path) if self.method else 'request'
        if self.status is None:
            return '%s failed: %s' % (where, self.message)
        return '%s returned %s: %s' % (where, self.status, self.message)

    @property
    def connection_failed(self):
        return self.status is None


class _BoundedRetry(Retry):
    """urllib3 Retry whose honoured Retry-After and backoff are capped."""

    def get_retry_after(self, response):
        value = super(_BoundedRetry, self).get_retry_after(response)
        return None if value is None else min(value, MAX_RETRY_AFTER)


def _retry(total, replay_after_send):
    methods = frozenset(['GET', 'HEAD', 'PUT', 'DELETE', 'POST'])
    return _BoundedRetry(
        total=total, connect=total, status=total, other=0,
        # read errors mean the request may have been applied: re-send only when that is harmless
        read=total if replay_after_send else 0,
        allowed_methods=methods,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.5,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def space_prefix(space_id):
    return '' if not space_id or space_id == 'default' else '/s/%s' % _quote(space_id)


# Ids that a URL path cannot carry as one segment: clients and proxies resolve them as "this folder" /
# "the parent folder" (RFC 3986 dot segments), so `connector/..` would be `POST /api/actions/`.
UNSAFE_IDS = ('', '.', '..')


def id_problem(value):
    """Why a connector or space id cannot be used in a URL path, or None."""
    if not isinstance(value, str):
        return 'must be a string'
    if value.strip() in UNSAFE_IDS:
        return 'cannot be %r: a URL path cannot carry it as an id (it is read as a folder)' % value
    return None


class KibanaClient(object):

    def __init__(self, url, api_key=None, username=None, password=None, validate_certs=True,
                 ca_path=None, client_cert=None, client_key=None, timeout=30, retries=3, pool_size=16,
                 proxy_url=None):
        if not HAS_REQUESTS:
            raise KibanaError('the Python library "requests" is required: %s' % REQUESTS_IMPORT_ERROR)
        if not url:
            raise KibanaError('kibana_url is required (or set KIBANA_URL)')
        if not re.match(r'^https?://', url):
            raise KibanaError('kibana_url must start with http:// or https://, got %r' % url)
        for option, path in (('ca_path', ca_path), ('client_cert', client_cert), ('client_key', client_key)):
            if path and not os.path.exists(path):
                raise KibanaError('%s: the file %s does not exist (on the host that runs the module)' % (option, path))
        self.url = url.rstrip('/')
        self.timeout = timeout
        self._version = None
        # every credential in every form a request carries it: masked in every message (Kibana or a proxy may echo
        # the Authorization header back)
        self.proxies = proxies_for(self.url, proxy_url)
        self.masker = _redaction.Masker(_redaction.credential_values(api_key, username, password)
                                        | proxy_credentials(self.proxies))
        self.warnings = []
        if not validate_certs:
            _silence_insecure_warning()
            if self.url.startswith('https://'):
                self.warnings.append('validate_certs is false: the certificate of %s is not verified, so anyone on the '
                                     'network path can read the API key and connector secrets; set ca_path to the CA '
                                     'bundle that signed it instead' % self.url)
        if self.proxies and self.url.startswith('http://'):
            self.warnings.append('kibana_url is http:// and requests go through the proxy %s: the proxy sees the '
                                 'API key or password and every connector secret; use https:// so that it only '
                                 'relays encrypted traffic' % without_credentials(list(self.proxies.values())[0]))
        # pool_size: connections kept open for reuse; as many as requests may be in flight at once
        self._session = self._new_session(_retry(retries, True), api_key, username, password,
                                          validate_certs, ca_path, client_cert, client_key, pool_size, self.proxies)
        # the same session settings, but a sent request is never replayed (POST without an id)
        self._session_once = self._new_session(_retry(retries, False), api_key, username, password,
                                               validate_certs, ca_path, client_cert, client_key, pool_size, self.proxies)

    @staticmethod
    def _new_session(retry, api_key, username, password, validate_certs, ca_path, client_cert, client_key,
                     pool_size=16, proxies=None):
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=pool_size)
        session.mount('http://', adapter)
        session.mount('https://', adapter)
        session.headers.update({'kbn-xsrf': 'kibana_gitops.connectors', 'Content-Type': 'application/json',
                                'Accept': 'application/json'})
        if api_key:
            session.headers['Authorization'] = 'ApiKey %s' % api_key
        elif username:
            session.auth = (username, password or '')
        session.verify = ca_bundle(ca_path) if validate_certs else False
        if client_cert:
            session.cert = (client_cert, client_key) if client_key else client_cert
        # the environment's proxies and CA bundle are read in proxies_for() / ca_bundle(); nothing else of it
        session.trust_env = False
        session.proxies = dict(proxies or {})
        return session

    # ---------------------------------------------------------------- transport
    def request(self, method, path, body=None, space_id=None, replay_after_send=True, redact=()):
        """Send one request; return the decoded JSON (None for an empty body).

        ``redact``: secret values that must never appear in an error message (Kibana quotes some
        values back, e.g. a Slack webhook URL that is not in the allow-list).
        """
        full_path = space_prefix(space_id) + path
        session = self._session if replay_after_send else self._session_once
        masker = _redaction.Masker(redact).add(self.masker.values)
        try:
            # never follow a redirect: requests would re-send the body (with the connector's secrets) to wherever
            # a 307/308 points, and a redirect to another origin hands it the request
            resp = session.request(method, self.url + full_path, timeout=self.timeout, allow_redirects=False,
                                   data=json.dumps(body) if body is not None else None)
        except requests.exceptions.RequestException as exc:
            raise KibanaError(masker(_describe_connection_error(exc, self.timeout)), None, method, full_path)
        if 300 <= resp.status_code < 400:
            raise KibanaError(masker(_describe_redirect(resp, self.url)), resp.status_code, method, full_path)
        if resp.status_code >= 400:
            raise _error_from_response(resp, method, full_path, masker)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise KibanaError(masker('answer is not JSON (is kibana_url the Kibana endpoint?): %s'
                                     % resp.text[:200]), resp.status_code, method, full_path)

    def _expect(self, value, kind, method, path, what, space_id=None):
        """Refuse an answer of the wrong shape, naming the endpoint and what was expected."""
        ok = isinstance(value, kind) and (kind is not list or all(isinstance(v, dict) and v.get('id') for v in value))
        if ok and kind is dict and what.startswith('the connector'):
            ok = bool(value.get('id'))
        if not ok:
            got = type(value).__name__ if not isinstance(value, list) else 'a list of %s' % (
                ', '.join(sorted(set(type(v).__name__ for v in value))) or 'nothing')
            raise KibanaError('answered with JSON of an unexpected shape: expected %s, got %s (is kibana_url the '
                              'Kibana endpoint, and not a proxy or another service?)' % (what, got),
                              200, method, space_prefix(space_id) + path)
        return value

    # ---------------------------------------------------------------- API
    def status(self):
        return self.request('GET', '/api/status')

    def version(self):
        """Kibana's version string ('9.2.0'), read once per client."""
        if self._version is None:
            status = self.status() or {}
            self._version = str((status.get('version') or {}).get('number') or '')
        return self._version

    def list_connectors(self, space_id):
        path = API + '/connectors'
        return self._expect(self.request('GET', path, space_id=space_id), list, 'GET', path,
                            'a list of connectors (objects with an id)', space_id)

    def get_connector(self, space_id, connector_id):
        path = '%s/connector/%s' % (API, _id_segment(connector_id, space_id))
        try:
            found = self.request('GET', path, space_id=space_id)
        except KibanaError as exc:
            if exc.status == 404:
                return None
            raise
        return self._expect(found, dict, 'GET', path, 'the connector (an object with an id)', space_id)

    def create_connector(self, space_id, body, connector_id=None):
        path = API + '/connector' + ('/%s' % _id_segment(connector_id, space_id) if connector_id is not None else '')
        created = self.request('POST', path, body, space_id=space_id, replay_after_send=connector_id is not None,
                               redact=_secret_values(body))
        return self._expect(created, dict, 'POST', path, 'the connector created (an object with an id)', space_id)

    def update_connector(self, space_id, connector_id, body):
        path = '%s/connector/%s' % (API, _id_segment(connector_id, space_id))
        updated = self.request('PUT', path, body, space_id=space_id, redact=_secret_values(body))
        return self._expect(updated, dict, 'PUT', path, 'the connector updated (an object with an id)', space_id)

    def delete_connector(self, space_id, connector_id):
        return self.request('DELETE', '%s/connector/%s' % (API, _id_segment(connector_id, space_id)),
                            space_id=space_id)

    def list_connector_types(self, space_id, feature_id=None):
        query = '?feature_id=%s' % _quote(feature_id) if feature_id else ''
        path = API + '/connector_types' + query
        found = self.request('GET', path, space_id=space_id)
        if not isinstance(found, list):
            self._expect(found, list, 'GET', path, 'a list of connector types', space_id)
        return found

    def execute(self, space_id, connector_id, params):
        return self.request('POST', '%s/connector/%s/_execute' % (API, _id_segment(connector_id, space_id)),
                            {'params': params}, space_id=space_id, replay_after_send=False)

    def get_dashboard(self, space_id, connector_id, dashboard_id):
        """The connector's getDashboard sub-action (AI connectors): Kibana's _execute answer."""
        return self.execute(space_id, connector_id, {'subAction': 'getDashboard',
                                                     'subActionParams': {'dashboardId': dashboard_id}})

    # roles (Kibana's role API; roles are not per space)
    def get_role(self, name):
        try:
            return self.request('GET', '%s/%s' % (ROLE_API, _segment(name, 'role name')))
        except KibanaError as exc:
            if exc.status == 404:
                return None
            raise

    def put_role(self, name, body):
        return self.request('PUT', '%s/%s' % (ROLE_API, _segment(name, 'role name')), body)

    def delete_role(self, name):
        return self.request('DELETE', '%s/%s' % (ROLE_API, _segment(name, 'role name')))


def client_from_params(params):
    """Build a client from a module's connection options (see connection_argument_spec)."""
    return KibanaClient(
        params.get('kibana_url'), api_key=params.get('api_key'), username=params.get('username'),
        password=params.get('password'), validate_certs=params.get('validate_certs', True),
        ca_path=params.get('ca_path'), client_cert=params.get('client_cert'), client_key=params.get('client_key'),
        timeout=params.get('timeout') or 30, retries=params.get('retries') if params.get('retries') is not None else 3,
        pool_size=max(16, params.get('pool_size') or 0), proxy_url=params.get('proxy_url'))


# -------------------------------------------------------------------- helpers
def _silence_insecure_warning():
    # validate_certs=false is the user's explicit choice; urllib3's per-request warning would
    # otherwise land in the module's output once per request.
    try:
        import urllib3
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    except Exception:  # pylint: disable=broad-except
        pass


def _segment(value, what):
    """Any value as one percent-encoded path segment; values that cannot round-trip are refused unsent."""
    problem = id_problem(value)
    if problem:
        raise KibanaError('%s %s; nothing was sent' % (what, problem), None, None, None)
    return _quote(value)


def _id_segment(connector_id, space_id=None):
    """A connector id as one percent-encoded path segment; ids that cannot round-trip are refused unsent."""
    _segment(connector_id, 'connector_id')
    problem = id_problem(space_id) if space_id not in (None, 'default') else None
    if problem:
        raise KibanaError('space_id %s; nothing was sent' % problem, None, None, None)
    return _quote(connector_id)


def _quote(value):
    try:
        from urllib.parse import quote
    except ImportError:  # pragma: no cover
        from urllib import quote  # type: ignore
    return quote(str(value), safe='')


def _secret_values(body):
    secrets = (body or {}).get('secrets') or {}
    values = []

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and len(value) >= 3:
            values.append(value)
    walk(secrets)
    return values


def _describe_connection_error(exc, timeout=None):
    if isinstance(exc, requests.exceptions.SSLError):
        return 'TLS error talking to Kibana (check validate_certs / ca_path / client_cert): %s' % _root_cause(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout) or 'ConnectTimeoutError' in str(exc):
        return ('cannot connect to Kibana: no connection within %s s (the timeout option; is kibana_url right and '
                'Kibana reachable?): %s' % (timeout, _root_cause(exc)))
    # urllib3 reports a read timeout that outlasted the retries as a ConnectionError: look at the cause
    if isinstance(exc, requests.exceptions.Timeout) or 'ReadTimeoutError' in str(exc) or 'Read timed out' in str(exc):
        return ('Kibana did not answer within %s s (the timeout option): it is slow or overloaded, and may still '
                'apply the request; raise timeout, or retry later' % timeout)
    if isinstance(exc, requests.exceptions.ProxyError):
        return ('cannot reach Kibana through the proxy (proxy_url, or HTTPS_PROXY / HTTP_PROXY and NO_PROXY): %s'
                % _root_cause(exc))
    if isinstance(exc, requests.exceptions.ConnectionError):
        return 'cannot connect to Kibana (is kibana_url right and Kibana up?): %s' % _root_cause(exc)
    return str(exc)


def _origin(url):
    try:
        from urllib.parse import urlsplit
    except ImportError:  # pragma: no cover
        from urlparse import urlsplit  # type: ignore
    parts = urlsplit(url or '')
    host = parts.hostname or ''
    port = parts.port or {'https': 443, 'http': 80}.get(parts.scheme)
    return '%s://%s:%s' % (parts.scheme, host, port)


def _describe_redirect(resp, base_url):
    location = resp.headers.get('Location') or ''
    try:
        from urllib.parse import urljoin
    except ImportError:  # pragma: no cover
        from urlparse import urljoin  # type: ignore
    target = urljoin(resp.url or base_url, location) if location else ''
    where = _origin(target) if target else 'nowhere (no Location header)'
    same = target and _origin(target) == _origin(base_url)
    return ('Kibana answered with a redirect (HTTP %s) to %s%s; redirects are never followed, so that no request (and '
            'no body with connector secrets) goes to another address: set kibana_url to the address Kibana serves its '
            'API on' % (resp.status_code, where, ' (same origin, another path)' if same else ' (another origin)'))


def _root_cause(exc):
    text = str(exc)
    match = re.search(r"\(Caused by (\w+)\((.*)\)\)$", text)
    return '%s: %s' % (match.group(1), match.group(2)) if match else text


def _error_from_response(resp, method, path, masker):
    kibana_error = None
    try:
        payload = resp.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and payload.get('message') is not None:
        message = str(payload.get('message'))
        kibana_error = payload.get('error')
    else:
        message = (resp.text or resp.reason or '').strip()[:300] or 'HTTP %s' % resp.status_code
    if resp.status_code == 401:
        message += ' (check api_key, or username and password)'
    retries = getattr(getattr(resp, 'raw', None), 'retries', None)
    retried = bool(getattr(retries, 'history', None))
    return KibanaError(masker(message), resp.status_code, method, path, kibana_error, retried)

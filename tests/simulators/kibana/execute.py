"""``_execute`` for the Kibana simulator: what Kibana's action executor does with a connector.

``execute(connector, secrets, params, settings) -> (http_status, body)`` is called by the
simulator's ``POST …/connector/{id}/_execute`` route once the connector is found. ``connector`` is
the stored connector (``id``, ``name``, ``connector_type_id``, ``config``, ``is_preconfigured``),
``secrets`` its stored secrets, ``params`` the request's ``params``, ``settings``
``{'allowed_hosts': [...] or ['*'], 'kibana_version': '9.2.0'}``.

Written from the API reference (section numbers below), not from plugins/:

* §3: a params validation failure is HTTP 200 with ``status: error``, ``retry: false``,
  ``errorSource: user``; an executor that throws gives ``message: 'an error occurred while running
  the action'``, the error text in ``service_message``, ``retry: true``. §2.5: the envelope.
* §4.3: ``.gen-ai`` sub-actions ``test`` and ``run`` (``subActionParams.body`` is a JSON *string*),
  ``stream`` without streaming and ``invokeAI``; the body rewrite per provider (stream/model rules),
  a real HTTP(S) POST to exactly ``apiUrl`` with Kibana's headers, PKI client certificate and
  ``verificationMode`` applied only for provider ``Other`` with ``verificationMode`` set, the
  ``usage``/``choices`` response validation, and the upstream/TLS error texts.
* Errors from the network are reported as Node/axios would name them (``ENOTFOUND``,
  ``ECONNREFUSED``, ``ECONNABORTED`` for a timeout, OpenSSL verify codes such as
  ``UNABLE_TO_VERIFY_LEAF_SIGNATURE``, ``ERR_TLS_CERT_ALTNAME_INVALID``). Where Node's wording for a
  TLS alert is not known exactly, the OpenSSL reason is passed through under ``EPROTO``.

Not simulated, and said so in the answer rather than faked: ``stream`` with ``stream: true``,
``invokeStream``, ``invokeAsyncIterator``, ``getDashboard``, and running any other connector type
(sub-action types still get their params validated first, as Kibana does). Validation texts follow
the era of ``kibana_version`` (§0) for the params envelope; sub-action request and response
validation texts are the config-schema (CS era) ones.

No import from plugins/: this is an independent model of Kibana.
"""
import base64
import errno
import http.client
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import time
import urllib.parse

OPENAI_CHAT_URL = 'https://api.openai.com/v1/chat/completions'
OPENAI_LEGACY_COMPLETION_URL = 'https://api.openai.com/v1/completions'
AZURE_STREAMING_URLS = (  # §4 URL constants; {…} become wildcards, the api-version query is ignored
    'https://{your-resource-name}.openai.azure.com/openai/deployments/{deployment-id}/chat/completions',
    'https://{your-resource-name}.openai.azure.com/openai/deployments/{deployment-id}/completions',
    'https://{your-resource-name}.openai.azure.com/openai/deployments/{deployment-id}/extensions/chat/completions',
)
DEFAULT_TIMEOUT_MS = 120000          # §4 DEFAULT_TIMEOUT_MS, used by run/test
RESPONSE_TIMEOUT_MS = 60000          # §6 xpack.actions.responseTimeout default, when no timeout is given
MAX_RESPONSE_BYTES = 1024 * 1024     # §6 maxResponseContentLength = 1mb
RUN_ERROR = 'an error occurred while running the action'

# Sub-action connector types (§3) and the display names Kibana puts in "Connector name: …"
SUB_ACTION_TYPES = {
    '.gen-ai': 'OpenAI', '.bedrock': 'Amazon Bedrock', '.gemini': 'Google Gemini', '.inference': 'AI Connector',
    '.d3security': 'D3 Security', '.tines': 'Tines', '.opsgenie': 'Opsgenie', '.thehive': 'TheHive',
    '.xsoar': 'XSOAR', '.crowdstrike': 'CrowdStrike', '.sentinelone': 'Sentinel One',
    '.microsoft_defender_endpoint': 'Microsoft Defender for Endpoint',
}
GENAI_SUB_ACTIONS = ('run', 'test', 'stream', 'invokeAI', 'invokeStream', 'invokeAsyncIterator', 'getDashboard')
NOT_SIMULATED = ('invokeStream', 'invokeAsyncIterator', 'getDashboard')

# OpenSSL verify result -> (Node error code, Node message)
VERIFY_ERRORS = {
    2: ('UNABLE_TO_GET_ISSUER_CERT', 'unable to get issuer certificate'),
    9: ('CERT_NOT_YET_VALID', 'certificate is not yet valid'),
    10: ('CERT_HAS_EXPIRED', 'certificate has expired'),
    18: ('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
    19: ('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
    20: ('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'),
    21: ('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
    26: ('INVALID_PURPOSE', 'unsupported certificate purpose'),
}


class ExecutorError(Exception):
    """The executor threw: reported as RUN_ERROR with this text as service_message (§3)."""

    def __init__(self, message, source='framework'):
        super(ExecutorError, self).__init__(message)
        self.message = message
        self.source = source


class UpstreamError(Exception):
    """What axios would throw: ``code`` (no HTTP answer) or ``status`` + ``data`` (an HTTP error)."""

    def __init__(self, message, code=None, status=None, status_text=None, data=None):
        super(UpstreamError, self).__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.status_text = status_text
        self.data = data


# ---------------------------------------------------------------------------------------- entry
def execute(connector, secrets, params, settings):
    connector_id = connector.get('id')
    type_id = connector.get('connector_type_id')
    era = _era((settings or {}).get('kibana_version'))
    if type_id in SUB_ACTION_TYPES:
        problem = _validate_sub_action_params(params, era)
        if problem:
            # §3: the params-validation errorSource is 'user' in 9.x tests, 'framework' in 8.x tests.
            source = 'framework' if _major((settings or {}).get('kibana_version')) < 9 else 'user'
            return 200, {'connector_id': connector_id, 'status': 'error',
                         'message': 'error validating action params: %s' % problem,
                         'retry': False, 'errorSource': source}
    try:
        if type_id != '.gen-ai':
            raise ExecutorError('The Kibana simulator does not simulate running %s connectors; only .gen-ai is '
                                'executed for real' % type_id)
        data = GenAiConnector(connector, secrets or {}, settings or {}).run(params)
    except ExecutorError as exc:
        return 200, {'connector_id': connector_id, 'status': 'error', 'message': RUN_ERROR,
                     'service_message': exc.message, 'retry': True, 'errorSource': exc.source}
    return 200, {'connector_id': connector_id, 'status': 'ok', 'data': data if data is not None else {}}


# ---------------------------------------------------------------------------------------- validation
def _era(version):
    """'CS' (config-schema, up to 9.2), 'Z3' (9.3), 'Z4' (9.4+) — §0."""
    nums = [int(n) for n in re.findall(r'\d+', str(version or '9.2.0'))[:2]] + [0, 0]
    major, minor = nums[0], nums[1]
    if (major, minor) >= (9, 4):
        return 'Z4'
    if (major, minor) >= (9, 3):
        return 'Z3'
    return 'CS'


def _major(version):
    return int((re.findall(r'\d+', str(version or '9.2.0')) or ['9'])[0])


def _type_name(value):
    """config-schema's typeDetect names."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, (int, float)):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'Array'
    return 'Object'


def _zod_type(value):
    name = _type_name(value)
    return {'Array': 'array', 'Object': 'object'}.get(name, name)


def _type_error(path, expected, value, era):
    if era == 'Z4':
        return u'\u2716 Invalid input: expected %s, received %s\n  \u2192 at %s' % (
            expected, 'undefined' if value is _MISSING else _zod_type(value), path)
    if era == 'Z3':
        if value is _MISSING:
            return 'Field "%s": Required' % path
        return 'Field "%s": Expected %s, received %s' % (path, expected, _zod_type(value))
    got = 'undefined' if value is _MISSING else _type_name(value)
    if expected == 'object':
        return '[%s]: expected a plain object value, but found [%s] instead.' % (path, got)
    return '[%s]: expected value of type [%s] but got [%s]' % (path, expected, got)


_MISSING = object()


def _validate_sub_action_params(params, era):
    """§3: ``{subAction: string, subActionParams?: object|null}`` (unknown keys: CS forbids them)."""
    params = params if isinstance(params, dict) else {}
    sub_action = params.get('subAction', _MISSING)
    if not isinstance(sub_action, str):
        return _type_error('subAction', 'string', sub_action, era)
    sap = params.get('subActionParams', _MISSING)
    if sap is not _MISSING and sap is not None and not isinstance(sap, dict):
        return _type_error('subActionParams', 'object', sap, era)
    if era == 'CS':
        for key in params:
            if key not in ('subAction', 'subActionParams'):
                return '[%s]: definition for this key is missing' % key
    return None


def _check_object(value, fields, prefix=''):
    """A small config-schema object validator: first error, CS wording. fields: (name, kind, required)."""
    if not isinstance(value, dict):
        label = '[%s]: ' % prefix.rstrip('.') if prefix else ''
        return '%sexpected a plain object value, but found [%s] instead.' % (
            label, 'undefined' if value is _MISSING else _type_name(value))
    for name, kind, required in fields:
        item = value.get(name, _MISSING)
        if item is _MISSING and not required:
            continue
        path = prefix + name
        if kind == 'string' and not isinstance(item, str):
            return _type_error(path, 'string', item, 'CS')
        if kind == 'number' and (isinstance(item, bool) or not isinstance(item, (int, float))):
            return _type_error(path, 'number', item, 'CS')
        if kind == 'nullable_string' and item is not None and not isinstance(item, str):
            return _type_error(path, 'string', item, 'CS')
        if kind == 'boolean' and not isinstance(item, bool):
            return _type_error(path, 'boolean', item, 'CS')
        if isinstance(kind, tuple) and kind[0] == 'object':
            problem = _check_object(item, kind[1], path + '.')
            if problem:
                return problem
        if isinstance(kind, tuple) and kind[0] == 'array':
            if not isinstance(item, list):
                return _type_error(path, 'array', item, 'CS')
            for i, element in enumerate(item):
                problem = _check_object(element, kind[1], '%s.%d.' % (path, i))
                if problem:
                    return problem
    return None


def _forbid_unknown(value, allowed):
    for key in value:
        if key not in allowed:
            return '[%s]: definition for this key is missing' % key
    return None


TELEMETRY = ('object', (('pluginId', 'string', False), ('aggregateBy', 'string', False)))
RUN_PARAMS = (('body', 'string', True), ('timeout', 'number', False), ('telemetryMetadata', TELEMETRY, False))
STREAM_PARAMS = RUN_PARAMS + (('stream', 'boolean', False),)
MESSAGE = (('role', 'string', True), ('content', 'string', True), ('name', 'string', False))
INVOKE_PARAMS = (('messages', ('array', MESSAGE), True), ('model', 'string', False), ('n', 'number', False),
                 ('temperature', 'number', False), ('timeout', 'number', False), ('telemetryMetadata', TELEMETRY, False))
INVOKE_KEYS = ('messages', 'model', 'tools', 'tool_choice', 'functions', 'function_call', 'n', 'stop', 'temperature',
               'response_format', 'signal', 'timeout', 'telemetryMetadata')
USAGE = ('object', (('prompt_tokens', 'number', True), ('completion_tokens', 'number', True),
                    ('total_tokens', 'number', True)))
CHOICE = (('message', ('object', (('role', 'string', True), ('content', 'nullable_string', False))), True),
          ('finish_reason', 'string', False), ('index', 'number', False))
RUN_RESPONSE = (('id', 'string', False), ('object', 'string', False), ('created', 'number', False),
                ('model', 'string', False), ('usage', USAGE, True), ('choices', ('array', CHOICE), True))


def _request_validation(sub_params, fields, allowed):
    problem = _check_object(sub_params, fields) or _forbid_unknown(sub_params, allowed)
    if problem:
        raise ExecutorError('Request validation failed (Error: %s)' % problem, source='user')


# ---------------------------------------------------------------------------------------- .gen-ai
class GenAiConnector(object):
    """openai.ts: one instance per execution, as Kibana builds the service per run."""

    def __init__(self, connector, secrets, settings):
        self.id = connector.get('id')
        self.config = connector.get('config') or {}
        self.secrets = secrets
        self.settings = settings
        self.url = self.config.get('apiUrl') or ''
        self.provider = self.config.get('apiProvider')
        self.key = secrets.get('apiKey') or ''
        self.headers = dict(self.config.get('headers') or {})
        if 'organizationId' in self.config:
            self.headers['OpenAI-Organization'] = self.config['organizationId']
        if 'projectId' in self.config:
            self.headers['OpenAI-Project'] = self.config['projectId']
        self.pki = None
        if (self.provider == 'Other' and any(secrets.get(k) for k in ('certificateData', 'caData', 'privateKeyData'))
                and self.config.get('verificationMode')):
            self.pki = _pki_overrides(secrets, self.config['verificationMode'])

    def run(self, params):
        sub_action = params.get('subAction')
        sub_params = params.get('subActionParams')
        sub_params = {} if sub_params is None else sub_params
        if sub_action not in GENAI_SUB_ACTIONS:
            raise ExecutorError('Sub action "%s" is not registered. Connector id: %s. Connector name: OpenAI. '
                                'Connector type: .gen-ai' % (sub_action, self.id))
        if sub_action in ('run', 'test'):
            _request_validation(sub_params, RUN_PARAMS, ('body', 'signal', 'timeout', 'telemetryMetadata'))
            return self.run_api(sub_params['body'], sub_params.get('timeout'))
        if sub_action == 'stream':
            _request_validation(sub_params, STREAM_PARAMS, ('body', 'stream', 'signal', 'timeout', 'telemetryMetadata'))
            if sub_params.get('stream'):
                raise ExecutorError('The Kibana simulator does not simulate streaming over _execute '
                                    '(sub action "stream" with stream: true); reference section 4.3 leaves it '
                                    'unverified')
            return self.run_api(sub_params['body'], sub_params.get('timeout'), default_timeout=RESPONSE_TIMEOUT_MS)
        if sub_action == 'invokeAI':
            _request_validation(sub_params, INVOKE_PARAMS, INVOKE_KEYS)
            rest = dict((k, v) for k, v in sub_params.items() if k not in ('signal', 'timeout', 'telemetryMetadata'))
            res = self.run_api(json.dumps(rest), sub_params.get('timeout'))
            choices = res.get('choices') or []
            content = choices and (choices[0].get('message') or {}).get('content')
            usage = res.get('usage') or {'prompt_tokens': 0, 'completion_tokens': 0, 'total_tokens': 0}
            if content:
                return {'message': content.strip(), 'usage': usage}
            return {'message': 'An error occurred sending your message. \n\nAPI Error: The response from OpenAI was '
                               'in an unrecognized format.', 'usage': usage}
        raise ExecutorError('The Kibana simulator does not simulate the .gen-ai sub action "%s"' % sub_action)

    # -------------------------------------------------------------- runApi
    def run_api(self, body, timeout=None, default_timeout=DEFAULT_TIMEOUT_MS):
        data = sanitize_request(self.provider, self.url, body, self.config.get('defaultModel'))
        if self.provider in ('OpenAI', 'Other'):
            auth = {'Authorization': 'Bearer %s' % self.key, 'content-type': 'application/json'}
        elif self.provider == 'Azure OpenAI':
            auth = {'api-key': self.key, 'content-type': 'application/json'}
        else:
            auth = {}
        headers = _merge_headers({'Content-Type': 'application/json'}, self.headers, auth)
        timeout_ms = timeout if timeout is not None else default_timeout
        try:
            res = self._request(data, headers, timeout_ms)
        except ExecutorError as exc:
            raise ExecutorError(pki_error_handler(exc.message) or exc.message, exc.source)
        return res

    def _request(self, data, headers, timeout_ms):
        """sub_action_connector.ts request(): assertURL, allow-list, normalizeURL, POST, validateResponse."""
        url = self.url
        assert_url(url)
        ensure_uri_allowed(url, self.settings.get('allowed_hosts') or ['*'])
        url = normalize_url(url)
        try:
            status, _reason, payload = post(url, data, headers, timeout_ms, self.pki)
        except UpstreamError as exc:
            raise ExecutorError('Status code: %s. Message: %s' % (
                exc.status if exc.status is not None else 'undefined', response_error_message(exc)))
        problem = _check_object(payload, RUN_RESPONSE)
        if problem:
            raise ExecutorError('Response validation failed (Error: %s)' % problem)
        return payload


def sanitize_request(provider, url, body, default_model=None):
    """§4.3 "What test sends upstream": the body rewrite per provider (stream forced off)."""
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return body
    if not isinstance(parsed, dict):
        return body
    if provider == 'OpenAI':
        if url in (OPENAI_CHAT_URL, OPENAI_LEGACY_COMPLETION_URL):
            parsed['stream'] = False
        parsed['model'] = parsed.get('model') or default_model
        if not (isinstance(parsed.get('tools'), list) and parsed['tools']):
            parsed.pop('tool_choice', None)
            parsed.pop('parallel_tool_calls', None)
        if not (isinstance(parsed.get('functions'), list) and parsed['functions']):
            parsed.pop('function_call', None)
    elif provider == 'Azure OpenAI':
        if not any(_azure_pattern(p).search(url) for p in AZURE_STREAMING_URLS):
            return body
        parsed['stream'] = False
        if default_model and not parsed.get('model'):
            parsed['model'] = default_model
    elif provider == 'Other':
        parsed['stream'] = False
        if default_model and not parsed.get('model'):
            parsed['model'] = default_model
    else:
        return body
    return json.dumps(parsed, separators=(',', ':'))


def _azure_pattern(template):
    escaped = template.replace('/', '\\/').replace('.', '\\.')
    escaped = escaped.replace('{your-resource-name}', '[^\\.\\/]+').replace('{deployment-id}', '[^\\/]+')
    return re.compile(escaped)


def _merge_headers(*layers):
    """Later layers win, names compared case-insensitively (axios headers)."""
    merged = {}
    for layer in layers:
        for name, value in layer.items():
            for existing in [k for k in merged if k.lower() == name.lower()]:
                del merged[existing]
            merged[name] = value
    return merged


def assert_url(url):
    """sub_action_framework/helpers/validators.ts assertURL."""
    try:
        parts = urllib.parse.urlsplit(url)
        if not parts.scheme or not parts.netloc:
            raise ValueError('Invalid URL: %s' % url)
        if not parts.hostname:
            raise ValueError('URL must contain hostname')
        if parts.scheme not in ('http', 'https'):
            raise ValueError('Invalid protocol')
    except ValueError as exc:
        raise ExecutorError('URL Error: %s' % exc)


def ensure_uri_allowed(url, allowed_hosts):
    if '*' in allowed_hosts:
        return
    host = urllib.parse.urlsplit(url).hostname
    if host not in allowed_hosts:
        raise ExecutorError('error configuring connector action: target url "%s" is not added to the Kibana config '
                            'xpack.actions.allowedHosts' % url)


def normalize_url(url):
    url = url[:-1] if url.endswith('/') else url
    return re.sub(r'([^:]/)/+', r'\1', url)


def response_error_message(exc):
    """openai.ts getResponseErrorMessage."""
    if exc.status is None:
        return 'Unexpected API Error: %s - %s' % (exc.code or '', exc.message or 'Unknown error')
    data = exc.data
    message = None
    if isinstance(data, dict) and data.get('error') is not None:
        err = data['error']
        message = err.get('message') if isinstance(err, dict) and err.get('message') is not None else err
        if isinstance(message, dict):
            message = '[object Object]'
    suffix = ' - %s' % message if message else ''
    if exc.status == 401:
        return 'Unauthorized API Error%s' % suffix
    return 'API Error: %s%s' % (exc.status_text or '', suffix)


def pki_error_handler(message):
    """other_openai_utils.ts pkiErrorHandler: applied to every runApi error."""
    if 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' in message:
        return ('Certificate error: %s. Please check if your PKI certificates are valid or adjust SSL verification '
                'mode.' % message)
    if 'ERR_TLS_CERT_ALTNAME_INVALID' in message or 'ERR_TLS_HANDSHAKE' in message:
        return 'TLS handshake failed: %s. Verify server certificate hostname and CA configuration.' % message
    return None


# ---------------------------------------------------------------------------------------- PKI
PEM_TYPES = {'certificateData': ('Certificate data', ('CERTIFICATE',)),
             'privateKeyData': ('Private key data', ('PRIVATE KEY', 'RSA PRIVATE KEY')),
             'caData': ('CA certificate data', ('CERTIFICATE',))}


def _b64decode(value):
    try:
        return base64.b64decode(value + '=' * (-len(value) % 4), validate=False).decode('utf-8', 'replace')
    except (ValueError, TypeError):
        return ''


def _pki_overrides(secrets, verification_mode):
    """getPKISSLOverrides: check the PEM headers again (the constructor throws), decode, keep the mode."""
    for field in ('certificateData', 'privateKeyData', 'caData'):
        value = secrets.get(field)
        if not value:
            continue
        description, types = PEM_TYPES[field]
        decoded = _b64decode(value)
        if not any('-----BEGIN %s-----' % t in decoded for t in types):
            if field == 'privateKeyData':
                expected = ('a PEM-encoded private key beginning with "-----BEGIN PRIVATE KEY-----" or '
                            '"-----BEGIN RSA PRIVATE KEY-----"')
            else:
                expected = 'a PEM-encoded certificate beginning with "-----BEGIN CERTIFICATE-----"'
            raise ExecutorError('Invalid or inaccessible PKI certificates: Invalid %s file format: The file must be %s.'
                                % (description, expected))
    if not secrets.get('certificateData') or not secrets.get('privateKeyData'):
        missing = 'certificate' if not secrets.get('certificateData') else 'private key'
        raise ExecutorError('No %s data provided' % missing)
    return {'cert': _b64decode(secrets['certificateData']), 'key': _b64decode(secrets['privateKeyData']),
            'ca': _b64decode(secrets['caData']) if secrets.get('caData') else None,
            'verification_mode': verification_mode}


def _ssl_context(pki, workdir):
    """Node TLS options: Kibana's default (full, system CAs), or the PKI overrides (§4.3)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # Node's checkServerIdentity is done by hand, for its message
    mode = pki['verification_mode'] if pki else 'full'
    if mode == 'none':
        ctx.verify_mode = ssl.CERT_NONE
    elif pki and pki['ca']:
        ctx.load_verify_locations(cadata=pki['ca'])  # Node: a given `ca` replaces the default roots
    else:
        ctx.load_default_certs()
    if pki:
        cert_path = os.path.join(workdir, 'client.crt')
        key_path = os.path.join(workdir, 'client.key')
        for path, text in ((cert_path, pki['cert']), (key_path, pki['key'])):
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
                f.write(text)
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            reason = (exc.reason or str(exc)).lower().replace('_', ' ')
            raise UpstreamError('error:%s routines::%s' % ((exc.library or 'SSL').lower(), reason),
                                code='ERR_OSSL_%s' % (exc.reason or 'SSL'))
    return ctx, mode


def _node_identity_error(host, cert):
    """tls.checkServerIdentity's message, or None when the certificate names the host."""
    sans = cert.get('subjectAltName', ())
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        ips = [v for k, v in sans if k == 'IP Address']
        if any(_same_ip(ip, v) for v in ips):
            return None
        return "IP: %s is not in the cert's list: %s" % (host, ', '.join(ips))
    dns = [v for k, v in sans if k == 'DNS']
    if any(_dns_match(host, pattern) for pattern in dns):
        return None
    altnames = ', '.join('%s:%s' % (k, v) for k, v in sans)
    return "Host: %s. is not in the cert's altnames: %s" % (host, altnames)


def _same_ip(ip, text):
    try:
        return ipaddress.ip_address(text.strip()) == ip
    except ValueError:
        return False


def _dns_match(host, pattern):
    host, pattern = host.lower().rstrip('.'), pattern.lower().rstrip('.')
    if pattern.startswith('*.'):
        return '.' in host and host.split('.', 1)[1] == pattern[2:]
    return host == pattern


# ---------------------------------------------------------------------------------------- transport
def post(url, data, headers, timeout_ms, pki=None):
    """One POST as axios in Kibana sends it. Returns (status, reason, parsed body) for a 2xx answer;
    raises UpstreamError with Node's error code/message otherwise."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == 'https' else 80)
    target = parts.path or '/'
    if parts.query:
        target += '?' + parts.query
    deadline = time.monotonic() + timeout_ms / 1000.0 if timeout_ms else None
    timeout_text = 'timeout of %sms exceeded' % timeout_ms

    def remaining():
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            raise UpstreamError(timeout_text, code='ECONNABORTED')
        return left

    workdir = tempfile.mkdtemp(prefix='kibana-sim-execute-')
    sock = None
    try:
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            code = 'EAI_AGAIN' if exc.errno == socket.EAI_AGAIN else 'ENOTFOUND'
            raise UpstreamError('getaddrinfo %s %s' % (code, host), code=code)
        family, _t, _p, _c, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(remaining())
        try:
            sock.connect(address)
        except socket.timeout:
            raise UpstreamError(timeout_text, code='ECONNABORTED')
        except OSError as exc:
            code = _errno_name(exc)
            raise UpstreamError('connect %s %s:%s' % (code, address[0], address[1]), code=code)
        if parts.scheme == 'https':
            sock = _tls_connect(sock, host, pki, workdir, remaining, timeout_text)
        raw = json.dumps(data) if not isinstance(data, str) else data
        body = raw.encode('utf-8')
        conn = http.client.HTTPConnection(host, port)
        conn.sock = sock
        try:
            sock.settimeout(remaining())
            conn.putrequest('POST', target, skip_accept_encoding=True)
            final_headers = _merge_headers({'Accept': 'application/json, text/plain, */*'}, headers,
                                           {'Content-Length': str(len(body))})
            for name, value in final_headers.items():
                conn.putheader(name, value)
            conn.endheaders(body)
            resp = conn.getresponse()
            content = b''
            while True:
                sock.settimeout(remaining())
                piece = resp.read(65536)
                if not piece:
                    break
                content += piece
                if len(content) > MAX_RESPONSE_BYTES:
                    raise UpstreamError('maxContentLength size of %d exceeded' % MAX_RESPONSE_BYTES,
                                        code='ERR_BAD_RESPONSE')
        except socket.timeout:
            raise UpstreamError(timeout_text, code='ECONNABORTED')
        except ssl.SSLError as exc:
            raise UpstreamError('read EPROTO %s' % _ssl_reason(exc), code='EPROTO')
        except (http.client.HTTPException, ConnectionError):
            raise UpstreamError('socket hang up', code='ECONNRESET')
        finally:
            conn.close()
        text = content.decode('utf-8', 'replace')
        try:
            payload = json.loads(text) if text else ''
        except ValueError:
            payload = text  # axios keeps a body that is not JSON as a string
        if not 200 <= resp.status < 300:
            raise UpstreamError('Request failed with status code %d' % resp.status, code='ERR_BAD_REQUEST'
                                if resp.status < 500 else 'ERR_BAD_RESPONSE', status=resp.status,
                                status_text=resp.reason, data=payload)
        return resp.status, resp.reason, payload
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
        shutil.rmtree(workdir, ignore_errors=True)


def _tls_connect(sock, host, pki, workdir, remaining, timeout_text):
    ctx, mode = _ssl_context(pki, workdir)
    family, peer = sock.family, sock.getpeername()
    try:
        server_hostname = None if _is_ip(host) else host
        tls = ctx.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        tls.settimeout(remaining())
        tls.do_handshake()
    except socket.timeout:
        raise UpstreamError(timeout_text, code='ECONNABORTED')
    except ssl.SSLCertVerificationError as exc:
        verify_code = exc.verify_code
        if verify_code == 20 and _presented_chain_length(family, peer, host) == 1:
            # Node verifies with an accept-all callback and reports OpenSSL's *last* error: for a
            # server that sends only its leaf certificate that is "unable to verify the first certificate"
            verify_code = 21
        code, message = VERIFY_ERRORS.get(verify_code, (None, exc.verify_message))
        raise UpstreamError(message or _ssl_reason(exc), code=code or 'ERR_TLS_HANDSHAKE')
    except ssl.SSLError as exc:
        raise UpstreamError('write EPROTO %s' % _ssl_reason(exc), code='EPROTO')
    except ConnectionError:
        raise UpstreamError('Client network socket disconnected before secure TLS connection was established',
                            code='ECONNRESET')
    if mode == 'full':
        problem = _node_identity_error(host, tls.getpeercert() or {})
        if problem:
            tls.close()
            raise UpstreamError("Hostname/IP does not match certificate's altnames: %s" % problem,
                                code='ERR_TLS_CERT_ALTNAME_INVALID')
    return tls


def _presented_chain_length(family, address, host):
    """How many certificates the server sends (a second, unverified handshake; None if unknown)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.socket(family, socket.SOCK_STREAM) as raw:
            raw.settimeout(5)
            raw.connect(address)
            with ctx.wrap_socket(raw, server_hostname=None if _is_ip(host) else host) as tls:
                chain = getattr(tls._sslobj, 'get_unverified_chain', lambda: None)()  # pylint: disable=protected-access
                return len(chain) if chain is not None else None
    except (OSError, ValueError):
        return None


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _ssl_reason(exc):
    reason = getattr(exc, 'reason', None)
    return (reason or str(exc)).lower().replace('_', ' ')


def _errno_name(exc):
    return errno.errorcode.get(exc.errno, 'ECONNREFUSED') if exc.errno else 'ECONNREFUSED'

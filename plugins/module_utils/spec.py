# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connector spec validation: JSON Schema (schemas.py) plus the rules JSON Schema cannot say.

Pure: no I/O, no network. ``validate_specs`` reports *every* problem it finds, each with the
file/document it came from, the connector, a JSON pointer to the field, a plain-words message
that names the field, and a hint where one helps. Messages never contain secret values.

Validation is for one Kibana release (``kibana_version``, default the newest the collection knows;
the facts that differ between releases are in versions.py). What that release accepts is never an
error. A problem that another release would not have names the release and the first release that
accepts the spec (``accepted_from``), or the last that did (``accepted_until``).

Each problem carries a ``rule``. Rules in ``STRICTER_THAN_KIBANA`` are the collection's own opinion:
Kibana accepts such a spec (reference §4, §5), but it would not work or would drift. They are
warnings, and errors only with ``strict`` (except ``pki-block``: a broken pki: block cannot be
turned into the secrets Kibana needs). The differential test against the Kibana simulator uses this
list as its documented exceptions; docs/spec-validation.md explains each.
"""
from __future__ import annotations

import base64
import binascii
import copy
import difflib
import json
import re
import traceback

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import schemas
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import versions

JSONSCHEMA_IMPORT_ERROR = None
try:
    from jsonschema import Draft202012Validator
    HAS_JSONSCHEMA = True
except ImportError:  # the module reports missing_required_lib('jsonschema')
    Draft202012Validator = None
    HAS_JSONSCHEMA = False
    JSONSCHEMA_IMPORT_ERROR = traceback.format_exc()


# The collection's own strictness: rule -> why (Kibana accepts these specs; see docs/spec-validation.md).
# Warnings unless strict, except the rules in ALWAYS_ERRORS.
STRICTER_THAN_KIBANA = {
    'url-strict': 'URL fields Kibana only checks against xpack.actions.allowedHosts (default "*", so anything '
                  'passes) or only parses: the collection requires http(s) and a host name everywhere.',
    'coercion': 'numbers and booleans given as strings ("0.2", "true"): Kibana coerces them, the collection '
                'wants the real type so the stored value and the spec do not drift.',
    'pki-unused': 'with strict: PKI for a provider other than Other, or without verificationMode (Kibana '
                  'stores it but never uses it).',
    'blank-id': 'empty or whitespace-only connector_id or space_id (Kibana would generate an id or use '
                'the default space silently).',
    'pki-block': 'problems in the pki: block (files, PEM parsing, key/certificate match, expiry): Kibana '
                 'never sees the block, only the base64 secrets made from it.',
    'gemini-credentials': 'a .gemini credentialsJson whose type is not "service_account": Kibana up to 9.2 stores '
                          'it, newer Kibana rejects it and the connector cannot authenticate with it.',
    'unmodelled-type': 'a connector type Kibana has but the collection has no schema for (.thehive, .xsoar, '
                       '.jira-service-management): its config and secrets are sent unchecked.',
    'url-id': 'connector_id or space_id "." or "..": a URL path cannot carry them (clients and proxies read them as '
              'folders), so Kibana would see another request (".." makes a create without id).',
    'duplicate-name': 'two specs without connector_id with the same name and type in one space: Kibana allows it, '
                      'but such specs are matched by name, so every later run would fail as ambiguous.',
    'strict-warning': 'any other warning, when strict is set.',
}

# The collection's own rules that stay errors without strict: a broken pki: block cannot become the secrets
# Kibana needs; a "." / ".." id cannot be sent at all; same-name specs without id fail every later run.
ALWAYS_ERRORS = ('pki-block', 'url-id', 'duplicate-name')

# Header names that carry credentials: in config.headers Kibana stores them in plain text, returns them from its API,
# and an export writes them into git.
CREDENTIAL_HEADER = re.compile(r'authoriz|api[-_]?key|token|secret|passw|cookie|credential|session|signature|'
                               r'subscription[-_]key|access[-_]key|private[-_]key|^x-auth', re.I)
UNSAFE_IDS = ('.', '..')


def credential_header(name):
    """Does a header of this name carry a credential?"""
    return isinstance(name, str) and bool(CREDENTIAL_HEADER.search(name))


def secret_header_alternative(type_id):
    """Where a type keeps credential headers encrypted instead (for the warning's hint)."""
    secrets = schemas.secrets_schema(type_id) or {}
    if 'secretHeaders' in (secrets.get('properties') or {}):
        return 'move it to secrets.secretHeaders: Kibana stores those encrypted and never returns them'
    if type_id == '.gen-ai':
        return ('use secrets.apiKey instead: Kibana sends it as the Authorization (OpenAI, Other) or api-key (Azure) '
                'header and stores it encrypted')
    return 'this type has no secret headers: prefer a credential the type keeps in secrets, or a proxy that adds it'


SECRET_PARTS = ('secrets',)
PEM_CERT = '-----BEGIN CERTIFICATE-----'
PEM_KEYS = ('-----BEGIN PRIVATE KEY-----', '-----BEGIN RSA PRIVATE KEY-----')
PKI_SECRET_FIELDS = (('certificateData', 'certificate'), ('privateKeyData', 'private_key'), ('caData', 'ca'))
_MUSTACHE = re.compile(r'\{\{\{?[^}]*\}?\}\}')
_SCHEME = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*):(.*)$', re.S)
_SPECIAL_SCHEMES = ('http', 'https', 'ws', 'wss', 'ftp', 'file')
CONNECTOR_ID_NEWER_KIBANA = re.compile(r'^[a-z0-9-]+$')
_NUMBER = re.compile(r'^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$')

# URL fields: (part, field) -> what Kibana 9.2 itself checks with allowedHosts "*":
# 'full' = parse + http(s) + host name (assertURL), 'host' = parse + host name, 'parse' = new URL(),
# 'none' = only the allow-list, which "*" passes. Anything the collection checks beyond that is 'url-strict'.
URL_FIELDS = {
    '.gen-ai': {('config', 'apiUrl'): 'full'},
    '.bedrock': {('config', 'apiUrl'): 'full'},
    '.gemini': {('config', 'apiUrl'): 'full'},
    '.webhook': {('config', 'url'): 'parse', ('config', 'accessTokenUrl'): 'none'},
    '.cases-webhook': dict((('config', f), 'parse') for f in (
        'createIncidentUrl', 'getIncidentUrl', 'viewIncidentUrl', 'updateIncidentUrl', 'createCommentUrl')),
    '.slack': {('secrets', 'webhookUrl'): 'host'},
    '.teams': {('secrets', 'webhookUrl'): 'host'},
    '.torq': {('config', 'webhookIntegrationUrl'): 'parse'},
    '.d3security': {('config', 'url'): 'none'},
    '.tines': {('config', 'url'): 'none'},
    '.opsgenie': {('config', 'apiUrl'): 'none'},
    '.pagerduty': {('config', 'apiUrl'): 'none'},
    '.jira': {('config', 'apiUrl'): 'none'},
    '.resilient': {('config', 'apiUrl'): 'none'},
    '.servicenow': {('config', 'apiUrl'): 'none'},
    '.servicenow-sir': {('config', 'apiUrl'): 'none'},
    '.servicenow-itom': {('config', 'apiUrl'): 'none'},
    '.swimlane': {('config', 'apiUrl'): 'none'},
    '.xmatters': {('config', 'configUrl'): 'parse', ('secrets', 'secretsUrl'): 'parse'},
    '.email': {('config', 'oauthTokenUrl'): 'none'},
}

# nodemailer's well-known services (names, aliases; matched like nodemailer: case- and space-insensitive),
# plus Kibana's own: the email connector rejects any other `service`.
EMAIL_KIBANA_SERVICES = ('other', 'exchange_server', 'elastic_cloud', '__json')
EMAIL_WELL_KNOWN_SERVICES = (
    '1und1', '126', '163', 'aliyun', 'aliyunqiye', 'aol', 'aruba', 'arubapec', 'bluewin', 'bol', 'debugmail',
    'disroot', 'dynectemail', 'dynect', 'elasticemail', 'ethereal', 'ethereal.email', 'fastmail', 'feishumail',
    'feishu', 'forwardemail', 'fe', 'gandimail', 'gandi', 'gmail', 'googlemail', 'gmx', 'godaddy', 'godaddyasia',
    'godaddyeurope', 'hot.ee', 'hotmail', 'outlook', 'outlook.com', 'hotmail.com', 'icloud', 'me', 'mac',
    'infomaniak', 'kolabnow', 'kolab', 'loopia', 'loops', 'mail.ee', 'mail.ru', 'mailcatch.app', 'mailersend',
    'mailgun', 'mailjet', 'mailosaur', 'mailtrap', 'mandrill', 'naver', 'ohmysmtp', 'one', 'openmailbox', 'omb',
    'openmailbox.org', 'outlook365', 'postmark', 'postmarkapp', 'proton', 'protonmail', 'proton.me',
    'protonmail.com', 'protonmail.ch', 'qiye.aliyun', 'qq', 'qqex', 'qqenterprise', 'resend', 'runbox',
    'sendcloud', 'sendgrid', 'sendinblue', 'brevo', 'sendpulse', 'ses', 'ses-ap-northeast-1', 'ses-ap-northeast-2',
    'ses-ap-northeast-3', 'ses-ap-south-1', 'ses-ap-southeast-1', 'ses-ap-southeast-2', 'ses-ca-central-1',
    'ses-eu-central-1', 'ses-eu-north-1', 'ses-eu-west-1', 'ses-eu-west-2', 'ses-eu-west-3', 'ses-sa-east-1',
    'ses-us-east-1', 'ses-us-east-2', 'ses-us-gov-east-1', 'ses-us-gov-west-1', 'ses-us-west-1', 'ses-us-west-2',
    'seznam', 'seznamemail', 'smtp2go', 'sparkpost', 'sparkpostmail', 'tipimail', 'tutanota', 'yahoo', 'yandex',
    'zimbra', 'zimbracollaboration', 'zoho')

# Types whose credential combinations are checked by a rule below (their secrets' anyOf is for editors).
_CREDENTIAL_RULE_TYPES = ('.gen-ai', '.servicenow', '.servicenow-sir', '.servicenow-itom', '.xmatters')


class ValidationReport(object):
    """Outcome of validate_specs: normalised specs, errors and warnings (dicts, see docs/internals.md)."""

    def __init__(self, specs, errors, warnings, kibana_version=None):
        self.specs = specs
        self.errors = errors
        self.warnings = warnings
        self.kibana_version = kibana_version
        self.errors_by_spec = {}  # index of the spec in the input -> its errors (strict warnings included)

    @property
    def ok(self):
        return not self.errors

    def as_dict(self):
        return {'specs': self.specs, 'errors': self.errors, 'warnings': self.warnings}


# ------------------------------------------------------------------ helpers
def pointer(*parts):
    """A JSON pointer from path parts (RFC 6901 escaping)."""
    return ''.join('/' + str(p).replace('~', '~0').replace('/', '~1') for p in parts)


def field_name(path):
    """A JSON pointer as users write the field: /config/headers/0 -> config.headers[0]."""
    out = ''
    for raw in path.split('/')[1:]:
        part = raw.replace('~1', '/').replace('~0', '~')
        if part.isdigit():
            out += '[%s]' % part
        else:
            out += ('.' if out else '') + part
    return out or 'spec'


def _json_type(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (list, tuple)):
        return 'array'
    if isinstance(value, dict):
        return 'object'
    return type(value).__name__


def _a(type_name):
    return ('an ' if type_name[0] in 'aeiou' else 'a ') + type_name


def _numeric_string(value):
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _coerce_like_kibana(value, expected, version):
    """The value Kibana ``version`` stores for a string in a number/boolean field, or None if it refuses it.

    Numeric strings: coerced in every release (config-schema; zod's z.coerce.number() from 9.3).
    "true"/"false": coerced by config-schema up to 9.2, refused by zod's z.boolean() from 9.3 (versions.py).
    """
    if not isinstance(value, str):
        return None
    if set(expected) & set(('number', 'integer')) and _NUMBER.match(value):
        number = float(value)
        if 'integer' in expected and 'number' not in expected:
            return int(number) if number == int(number) else None
        return int(number) if number == int(number) and re.match(r'^\s*-?\d+\s*$', value) else number
    if 'boolean' in expected and value.strip().lower() in ('true', 'false') and \
            not versions.supports('zod-strict-booleans', version):
        return value.strip().lower() == 'true'
    return None


def _suggest(word, choices):
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = dict((c.lower(), c) for c in choices)
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return close[0] if close else None


def _blank(value):
    return isinstance(value, str) and not value.strip()


def _b64_lenient(value):
    """Decode base64 the way Node's Buffer.from(s, 'base64') does: skip what is not base64, no padding needed."""
    cleaned = re.sub(r'[^A-Za-z0-9+/_-]', '', value).replace('-', '+').replace('_', '/')
    cleaned += '=' * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned).decode('utf-8', 'replace')
    except (binascii.Error, ValueError):
        return ''


def parse_url(value):
    """(scheme, host) of a URL the way WHATWG `new URL()` sees it, or None when it does not parse."""
    text = _MUSTACHE.sub('x', value.strip())
    match = _SCHEME.match(text)
    if not match:
        return None
    scheme, rest = match.group(1).lower(), match.group(2)
    host = ''
    if rest.startswith('//') or scheme in _SPECIAL_SCHEMES:
        authority = re.split(r'[/?#]', rest.lstrip('/\\'), 1)[0]
        authority = authority.rsplit('@', 1)[-1]
        if authority.startswith('['):
            host = authority.split(']', 1)[0] + ']'
        else:
            host, _sep, port = authority.partition(':')
            if port and not port.isdigit():
                return None
        if re.search(r'[\s<>^|%]', host.replace('%25', '')):
            return None
        if scheme in _SPECIAL_SCHEMES and scheme != 'file' and not host:
            return None  # "https://" or "https:///x": not a URL for WHATWG
    return scheme, host


# ------------------------------------------------------------------ the validator
class _Collector(object):
    """Problems of one spec, with where they came from."""

    def __init__(self, source, label, version=None):
        self.source = source or {}
        self.label = label
        self.version = version or versions.NEWEST
        self.errors = []
        self.warnings = []
        self.coerced = []  # (pointer, value): strings Kibana coerces, as Kibana stores them

    rule = None  # default rule of the problems being added (set while translating schema errors)

    def add(self, path, message, hint=None, severity='error', rule=None):
        rule = rule or self.rule
        if severity == 'error' and rule in STRICTER_THAN_KIBANA and rule not in ALWAYS_ERRORS:
            severity = 'warning'  # what Kibana accepts is never an error (strict makes it one again)
        problem = {'file': self.source.get('file'), 'document': self.source.get('document'),
                   'connector': self.label, 'path': path, 'message': message, 'hint': hint,
                   'rule': rule}
        if self.source.get('item') is not None:
            problem['item'] = self.source['item']
        (self.errors if severity == 'error' else self.warnings).append(problem)


_VALIDATORS = {}


def _validator(schema_key, schema):
    """A compiled validator per schema, built once (``schema`` may be a factory)."""
    validator = _VALIDATORS.get(schema_key)
    if validator is None:
        validator = _VALIDATORS[schema_key] = Draft202012Validator(schema() if callable(schema) else schema)
    return validator


def _schema_problems(out, validator, instance, prefix, part, type_id):
    """Translate jsonschema errors into one problem per field, in plain words."""
    try:
        _translate(out, validator, instance, prefix, part, type_id)
    finally:
        out.rule = None


def _translate(out, validator, instance, prefix, part, type_id):
    secret = part in SECRET_PARTS
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        base = prefix + pointer(*err.absolute_path)
        # the pki block never reaches Kibana (it becomes base64 secrets), so its shape is our own rule
        out.rule = 'pki-block' if base.startswith('/pki') else None
        kind = err.validator
        if _blank(err.instance):
            continue  # _check_blank names it once
        if kind == 'required':
            for key in err.validator_value:
                if isinstance(err.instance, dict) and key not in err.instance:
                    path = base + pointer(key)
                    desc = (err.schema.get('properties', {}).get(key) or {}).get('description')
                    out.add(path, '%s is required' % field_name(path),
                            hint=('add it: %s%s' % (desc[0].lower(), desc[1:].rstrip('.'))) if desc else None)
        elif kind == 'additionalProperties' and isinstance(err.instance, dict):
            allowed = sorted((err.schema.get('properties') or {}).keys())
            for key in sorted(k for k in err.instance if k not in allowed):
                path = base + pointer(key)
                guess = _suggest(key, allowed)
                hint = ('did you mean %s?' % guess) if guess else (
                    'allowed fields: %s' % ', '.join(allowed) if allowed else '%s takes no fields' % field_name(base))
                if part == 'spec':
                    out.add(path, '%s is not a spec field' % field_name(path), hint=hint)
                else:
                    out.add(path, '%s is not a field of %s %s: Kibana rejects unknown keys'
                            % (field_name(path), type_id, part), hint=hint)
        elif kind == 'type':
            expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            actual = _json_type(err.instance)
            rule = hint = None
            coerced = _coerce_like_kibana(err.instance, expected, out.version)
            if coerced is not None:
                # Kibana coerces it (and stores the coerced value, which the collection sends instead)
                rule, hint = 'coercion', 'write it without quotes; sent to Kibana as %s' % json.dumps(coerced)
                out.coerced.append((base, coerced))
            elif isinstance(err.instance, str) and 'boolean' in expected and \
                    err.instance.strip().lower() in ('true', 'false'):
                hint = 'write true or false without quotes'
            wanted = ' or '.join(_a(t) if t != 'null' else 'null' for t in expected)
            out.add(base, '%s must be %s, not %s' % (field_name(base), wanted, _a(actual)), hint=hint, rule=rule)
        elif kind == 'enum':
            choices = ', '.join('null' if v is None else str(v) for v in err.validator_value)
            got = '' if secret or not isinstance(err.instance, (str, int, float)) else ' (got %r)' % (err.instance,)
            guess = _suggest(err.instance, [v for v in err.validator_value if isinstance(v, str)]) \
                if isinstance(err.instance, str) else None
            out.add(base, '%s must be one of: %s%s' % (field_name(base), choices, got),
                    hint=('did you mean %s?' % guess) if guess else None)
        elif kind in ('minimum', 'maximum'):
            word = 'at least' if kind == 'minimum' else 'at most'
            out.add(base, '%s must be %s %s' % (field_name(base), word, err.validator_value))
        elif kind in ('maxProperties', 'maxItems'):
            out.add(base, '%s has more than %s entries' % (field_name(base), err.validator_value))
        elif kind == 'minLength':
            out.add(base, '%s must not be empty' % field_name(base))
        elif kind in ('anyOf', 'oneOf') and secret and type_id in _CREDENTIAL_RULE_TYPES and not err.absolute_path:
            continue  # the type's credential rule says it in plain words
        elif kind == 'anyOf' and all(set(b) == set(['required']) for b in err.validator_value):
            combos = '; or '.join(' + '.join(b['required']) for b in err.validator_value)
            out.add(base, '%s needs %s' % (field_name(base), combos))
        else:
            out.add(base, '%s: %s' % (field_name(base), 'invalid value' if secret else err.message))


def _check_blank(out, value, path, rule=None):
    """Kibana's route rejects strings that are empty after trim() anywhere in name/type/config/secrets."""
    if isinstance(value, dict):
        for key in value:
            _check_blank(out, value[key], path + pointer(key), rule)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_blank(out, item, path + pointer(i), rule)
    elif _blank(value):
        out.add(path, '%s is empty or only whitespace: Kibana rejects blank strings (value \'\' is not valid)'
                % field_name(path), hint='remove the field, or set it to null where the type allows null',
                rule=rule)


def templated(value):
    """A whole-value Jinja expression ("{{ vault_x }}") in a spec file: Ansible fills it in later."""
    return isinstance(value, str) and value.strip().startswith('{{') and value.strip().endswith('}}') \
        and not value.strip().startswith('{{{')


def _check_url(out, path, value, kibana_checks):
    if not isinstance(value, str) or _blank(value) or templated(value):
        return
    parsed = parse_url(value)
    name = field_name(path)
    shown = '' if path.startswith('/secrets') else ' %r' % value
    hint = 'write a full URL such as https://host.example.com/path'
    if parsed is None:
        out.add(path, '%s%s is not a valid URL' % (name, shown), hint=hint,
                rule=None if kibana_checks in ('full', 'host', 'parse') else 'url-strict')
    elif not parsed[1]:
        out.add(path, '%s%s has no host name' % (name, shown), hint=hint,
                rule=None if kibana_checks in ('full', 'host') else 'url-strict')
    elif parsed[0] not in ('http', 'https'):
        out.add(path, '%s%s must use http or https, not %s' % (name, shown, parsed[0]), hint=hint,
                rule=None if kibana_checks == 'full' else 'url-strict')


def _truthy(mapping, key):
    return bool(isinstance(mapping, dict) and mapping.get(key))


# ------------------------------------------------------------------ type rules (Kibana's custom validators)
def _rule_gen_ai(out, spec, config, secrets, strict):
    pki = spec.get('pki') if isinstance(spec.get('pki'), dict) else {}
    provider = config.get('apiProvider')
    has_cert = _truthy(secrets, 'certificateData') or _truthy(pki, 'certificate')
    has_key = _truthy(secrets, 'privateKeyData') or _truthy(pki, 'private_key')
    has_ca = _truthy(secrets, 'caData') or _truthy(pki, 'ca')
    # reference §4.2: PKI when certificate or key is given, else an API key is required
    if has_cert or has_key:
        if not has_cert:
            path = '/pki/certificate' if pki else '/secrets/certificateData'
            out.add(path, '%s is required: PKI needs the client certificate with the private key' % field_name(path),
                    hint='set pki.certificate (a PEM file) or secrets.certificateData')
        if not has_key:
            path = '/pki/private_key' if pki else '/secrets/privateKeyData'
            out.add(path, '%s is required: PKI needs the private key with the client certificate' % field_name(path),
                    hint='set pki.private_key (a PEM file) or secrets.privateKeyData')
    elif not _truthy(secrets, 'apiKey') and not _blank(secrets.get('apiKey')):
        out.add('/secrets/apiKey', 'secrets.apiKey is required (or PKI: a client certificate and private key)',
                hint='e.g. apiKey: "{{ vault_openai_api_key }}"; for mTLS use the pki: block')
    for field, pki_field in PKI_SECRET_FIELDS:
        value = secrets.get(field)
        if isinstance(value, str) and value.strip() and not templated(value):
            _check_pem_secret(out, field, value)
        if _truthy(secrets, field) and _truthy(pki, pki_field):
            out.add('/pki/%s' % pki_field, 'pki.%s and secrets.%s are both set: give the material once'
                    % (pki_field, field), hint='keep pki.%s (the collection encodes it)' % pki_field)
    if (has_cert or has_key or has_ca) and not versions.supports('gen-ai-pki', out.version):
        path = '/pki' if pki else '/secrets'
        out.add(path, '%s: PKI certificate authentication (certificateData, privateKeyData, caData) does not exist '
                'for .gen-ai connectors in this Kibana release' % field_name(path),
                hint='PKI needs Kibana %s; use an API key on older releases' % versions.first_release('gen-ai-pki'))
    if has_cert or has_key or has_ca:
        severity = 'error' if strict else 'warning'
        if provider in ('OpenAI', 'Azure OpenAI'):
            out.add('/config/apiProvider', 'PKI is set but apiProvider is %s: Kibana stores the certificate but only '
                    'uses PKI with apiProvider Other' % provider, hint='use apiProvider: Other for mTLS',
                    severity=severity, rule='pki-unused')
        elif provider == 'Other' and not config.get('verificationMode'):
            out.add('/config/verificationMode', 'PKI is set but config.verificationMode is not: Kibana only uses '
                    'the certificate when verificationMode is set', hint='add verificationMode: full',
                    severity=severity, rule='pki-unused')
    if provider == 'Azure OpenAI' and isinstance(config.get('apiUrl'), str) and 'api-version=' not in config['apiUrl']:
        out.add('/config/apiUrl', 'config.apiUrl has no api-version query parameter: Azure OpenAI needs one',
                hint='e.g. …/chat/completions?api-version=2024-10-21', severity='warning')


def _check_pem_secret(out, field, value):
    """certificateData / privateKeyData / caData: base64 of the PEM text (reference §4.2)."""
    path = '/secrets/%s' % field
    cert = field != 'privateKeyData'
    what = 'private key' if not cert else ('CA certificate' if field == 'caData' else 'certificate')
    if '-----BEGIN' in value:
        out.add(path, 'secrets.%s is raw PEM text; Kibana expects the base64 of the PEM (raw PEM is rejected)'
                % field, hint="use the pki: block with the file, or encode it: {{ lookup('file', 'x.pem') | b64encode }}")
        return
    decoded = _b64_lenient(value)
    if cert and PEM_CERT in decoded:
        return
    if not cert and any(h in decoded for h in PEM_KEYS):
        return
    if cert and any(h in decoded for h in PEM_KEYS + ('-----BEGIN EC PRIVATE KEY-----', '-----BEGIN ENCRYPTED')):
        out.add(path, 'secrets.%s holds a private key, not a %s: certificate and key swapped?' % (field, what),
                hint='certificateData is the certificate, privateKeyData the key')
    elif not cert and PEM_CERT in decoded:
        out.add(path, 'secrets.privateKeyData holds a certificate, not a private key: certificate and key swapped?',
                hint='certificateData is the certificate, privateKeyData the key')
    elif not cert and ('-----BEGIN EC PRIVATE KEY-----' in decoded or '-----BEGIN ENCRYPTED PRIVATE KEY' in decoded):
        out.add(path, 'secrets.privateKeyData is an EC or encrypted key; Kibana accepts only "BEGIN PRIVATE KEY" '
                '(PKCS#8) or "BEGIN RSA PRIVATE KEY"', hint='use the pki: block: it converts the key to PKCS#8')
    else:
        expected = PEM_CERT if cert else ' or '.join(PEM_KEYS)
        out.add(path, 'secrets.%s is not the base64 of a PEM %s (after decoding it must contain %s)'
                % (field, what, expected), hint='use the pki: block with the PEM file')


def _rule_webhook(out, spec, config, secrets, strict):
    # secrets: exactly one auth combination, or none (reference §5)
    has = dict((k, _truthy(secrets, k)) for k in ('user', 'password', 'crt', 'key', 'pfx', 'clientSecret'))

    def others(*keep):
        return not any(v for k, v in has.items() if k not in keep)
    if any(has.values()) and not (
            (has['user'] and has['password'] and others('user', 'password'))
            or (has['crt'] and has['key'] and others('crt', 'key', 'password'))
            or (has['pfx'] and others('pfx', 'password'))
            or (has['clientSecret'] and others('clientSecret'))):
        given = ', '.join(k for k in sorted(has) if has[k])
        out.add('/secrets', 'secrets give %s: specify exactly one of user and password; crt and key (with optional '
                'password); pfx (with optional password); or clientSecret (for OAuth2)' % given,
                hint='remove the credentials of the other methods')
    auth_type = config.get('authType')
    if config.get('hasAuth') is False and auth_type is not None:
        out.add('/config/authType', 'config.authType must be null or absent when config.hasAuth is false',
                hint='remove authType, or set hasAuth: true')
    if auth_type == 'webhook-oauth2-client-credentials':
        missing = [f for f in ('accessTokenUrl', 'clientId') if not config.get(f)]
        for f in missing:
            out.add('/config/%s' % f, 'config.%s is required with authType webhook-oauth2-client-credentials' % f)
    if config.get('hasAuth', True) and auth_type == 'webhook-authentication-basic' and \
            not (has['user'] and has['password']):
        out.add('/secrets', 'authType is webhook-authentication-basic but secrets.user/password are not set',
                hint='add secrets.user and secrets.password', severity='warning')


def _rule_email(out, spec, config, secrets, strict):
    service = config.get('service', 'other')
    if not isinstance(service, str):
        return
    if service == 'exchange_server':
        for f in ('clientId', 'tenantId'):
            if config.get(f) is None:
                out.add('/config/%s' % f, 'config.%s is required with service exchange_server' % f)
        if secrets.get('clientSecret') is None:
            out.add('/secrets/clientSecret', 'secrets.clientSecret is required with service exchange_server')
        return
    if service == 'other':
        for f in ('host', 'port'):
            if config.get(f) is None:
                out.add('/config/%s' % f, 'config.%s is required with service "other" (the default)' % f,
                        hint='set host and port, or a well-known service such as gmail, outlook365 or ses')
    elif service not in EMAIL_KIBANA_SERVICES and \
            re.sub(r'\s', '', service).lower() not in EMAIL_WELL_KNOWN_SERVICES:
        guess = _suggest(service.lower(), EMAIL_KIBANA_SERVICES + EMAIL_WELL_KNOWN_SERVICES)
        out.add('/config/service', 'config.service %r is not a service Kibana knows' % service,
                hint=('did you mean %s?' % guess) if guess else 'use "other" with host and port')
    # Kibana checks the connector against the request's raw config: hasAuth counts only when it is written
    if config.get('hasAuth'):
        for f in ('user', 'password'):
            if secrets.get(f) is None:
                out.add('/secrets/%s' % f, 'secrets.%s is required when config.hasAuth is true' % f,
                        hint='add it, or set hasAuth: false')
    elif 'hasAuth' not in config and secrets.get('user') is None:
        out.add('/config/hasAuth', 'config.hasAuth is not set and there is no user: Kibana stores hasAuth: true '
                'but sends mail without authentication', hint='set hasAuth: false, or add secrets.user/password',
                severity='warning')
    sender = config.get('from')
    if isinstance(sender, str) and sender.strip() and not re.match(r'^[^@\s]+@[^@\s]+$', sender.strip().split('<')[-1]
                                                                   .rstrip('>')):
        out.add('/config/from', 'config.from does not look like an email address', severity='warning')


def _rule_servicenow(out, spec, config, secrets, strict):
    is_oauth = bool(config.get('isOAuth'))
    if is_oauth:
        for f in ('userIdentifierValue', 'clientId', 'jwtKeyId'):
            if config.get(f) is None:
                out.add('/config/%s' % f, 'config.%s is required when isOAuth is true' % f)
        for f in ('clientSecret', 'privateKey'):
            if secrets.get(f) is None:
                out.add('/secrets/%s' % f, 'secrets.%s is required when isOAuth is true' % f)
        if _truthy(secrets, 'username') or _truthy(secrets, 'password'):
            out.add('/secrets', 'secrets.username/password must not be set when isOAuth is true')
        return
    for f in ('username', 'password'):
        if secrets.get(f) is None:
            out.add('/secrets/%s' % f, 'secrets.%s is required for basic auth (isOAuth false)' % f,
                    hint='or set isOAuth: true with the OAuth fields')
    extra = [f for f in ('clientId', 'userIdentifierValue', 'jwtKeyId') if config.get(f)] + \
        [f for f in ('clientSecret', 'privateKey') if _truthy(secrets, f)]
    if extra:
        out.add('/config/isOAuth', '%s must not be set when isOAuth is false' % ', '.join(extra),
                hint='set isOAuth: true, or remove them')


def _rule_xmatters(out, spec, config, secrets, strict):
    # Kibana's connector check reads the raw config: an absent usesBasic counts as false there
    # (while the stored default is true), so basic auth only works with usesBasic: true written out.
    if config.get('usesBasic'):
        if _truthy(secrets, 'secretsUrl'):
            out.add('/secrets/secretsUrl', 'secrets.secretsUrl must not be set when usesBasic is true')
        for f in ('user', 'password'):
            if not _truthy(secrets, f):
                out.add('/secrets/%s' % f, 'secrets.%s is required when usesBasic is true' % f)
        if config.get('configUrl') is None:
            out.add('/config/configUrl', 'config.configUrl is required when usesBasic is true')
    else:
        if _truthy(secrets, 'user') or _truthy(secrets, 'password'):
            hint = None if 'usesBasic' in config else \
                'write usesBasic: true: Kibana checks the connector as written, where a missing usesBasic is false'
            out.add('/secrets', 'secrets.user/password must not be set when usesBasic is false', hint=hint)
        if config.get('configUrl'):
            out.add('/config/configUrl', 'config.configUrl must not be set when usesBasic is false')
        if not _truthy(secrets, 'secretsUrl'):
            out.add('/secrets/secretsUrl', 'secrets.secretsUrl is required when usesBasic is false')


def _rule_gemini(out, spec, config, secrets, strict):
    raw = secrets.get('credentialsJson')
    if not isinstance(raw, str) or not raw.strip() or templated(raw):
        return
    # Kibana's own check from 9.3 (versions.py); before, the collection's opinion (a warning)
    kibana_checks = versions.supports('gemini-credentials-check', out.version)
    try:
        creds = json.loads(raw)
    except ValueError:
        out.add('/secrets/credentialsJson', 'secrets.credentialsJson is not JSON: Gemini calls will fail',
                hint='paste the whole service account key file', severity='error' if kibana_checks else 'warning')
        return
    if isinstance(creds, dict) and creds.get('type') != 'service_account':
        out.add('/secrets/credentialsJson', 'secrets.credentialsJson must be a "service_account" credential '
                '(type is %s)' % json.dumps(creds.get('type')), hint='create a service account key in GCP',
                rule=None if kibana_checks else 'gemini-credentials')


TYPE_RULES = {
    '.gen-ai': _rule_gen_ai,
    '.webhook': _rule_webhook,
    '.cases-webhook': _rule_webhook,
    '.email': _rule_email,
    '.servicenow': _rule_servicenow,
    '.servicenow-sir': _rule_servicenow,
    '.servicenow-itom': _rule_servicenow,
    '.xmatters': _rule_xmatters,
    '.gemini': _rule_gemini,
}


# ------------------------------------------------------------------ one spec
def _label(spec, index):
    if isinstance(spec, dict):
        for key in ('connector_id', 'name'):
            if isinstance(spec.get(key), str) and spec[key].strip():
                return spec[key]
    return 'spec #%d' % (index + 1)


def _validate_one(spec, out, strict, pki_checker):
    version = out.version
    if not isinstance(spec, dict):
        out.add('', 'a spec must be a mapping (connector_id, name, connector_type_id, config, secrets …), not %s'
                % _a(_json_type(spec)))
        return None
    _schema_problems(out, _validator('spec', schemas.spec_base_schema), spec, '', 'spec', 'connector')
    for key in ('name', 'connector_type_id'):
        _check_blank(out, spec.get(key), pointer(key))
    for key in ('connector_id', 'space_id'):
        _check_blank(out, spec.get(key), pointer(key), rule='blank-id')
        if isinstance(spec.get(key), str) and spec[key].strip() in UNSAFE_IDS:
            out.add(pointer(key), '%s %r cannot be used: a URL path cannot carry it (it is read as a folder, so the '
                    'request would go to another endpoint)' % (key, spec[key]), hint='use a lowercase slug',
                    rule='url-id')
    state = spec.get('state') or 'present'
    connector_id = spec.get('connector_id')
    if not connector_id:
        out.add('/connector_id', 'connector_id is not set: the connector has no stable identity (it is matched by '
                'name and type)', hint='set connector_id, e.g. a lowercase slug', severity='warning')
    elif isinstance(connector_id, str) and connector_id.strip() and not CONNECTOR_ID_NEWER_KIBANA.match(connector_id):
        out.add('/connector_id', 'connector_id %r has characters other than lowercase letters, numbers and hyphens; '
                'newer Kibana releases reject such ids' % connector_id, severity='warning')

    normal = copy.deepcopy(spec)
    normal.setdefault('space_id', 'default')
    normal['state'] = state
    if state == 'absent':
        return normal
    for part in ('config', 'secrets'):
        if normal.get(part) is None:
            normal[part] = {}
    type_id = spec.get('connector_type_id')
    if not isinstance(type_id, str) or not type_id.strip():
        return normal
    if not _check_type(out, type_id, normal):
        return normal
    config, secrets = normal['config'], normal['secrets']
    if isinstance(config, dict):
        _check_blank(out, config, '/config')
        _validate_config(out, type_id, config)
        _check_credential_headers(out, type_id, config)
    if isinstance(secrets, dict):
        _check_blank(out, secrets, '/secrets')
        _schema_problems(out, _validator(('secrets', type_id, version), schemas.secrets_schema(type_id, version)),
                         secrets, '/secrets', 'secrets', type_id)
    pki = spec.get('pki')
    if pki is not None:
        _check_pki(out, type_id, pki, pki_checker)
    if isinstance(config, dict) and isinstance(secrets, dict):
        for (part, field), checks in sorted(URL_FIELDS.get(type_id, {}).items()):
            _check_url(out, pointer(part, field), (config if part == 'config' else secrets).get(field), checks)
        rule = TYPE_RULES.get(type_id)
        if rule:
            rule(out, spec, config, secrets, strict)
    return normal


def _check_type(out, type_id, normal):
    """Is the type one this Kibana release has and the collection models? (False: stop checking the spec.)"""
    version = out.version
    if type_id in schemas.for_version(version):
        return True
    known = type_id in schemas.CONNECTOR_TYPES or type_id in versions.UNMODELLED_TYPES
    if known and not versions.type_exists(type_id, version):
        out.add('/connector_type_id', 'connector type %s is not registered in this Kibana release' % type_id,
                hint='%s is available from Kibana %s' % (type_id, ' / '.join(versions.type_fact(type_id)['since'])))
        return False
    if type_id in versions.UNMODELLED_TYPES:
        out.add('/connector_type_id', 'connector type %s has no schema in the collection: its config and secrets '
                'are sent to Kibana unchecked' % type_id, severity='warning', rule='unmodelled-type')
        return False
    choices = schemas.known_types(version) + [t for t in versions.UNMODELLED_TYPES if versions.type_exists(t, version)]
    guess = _suggest(type_id, choices)
    out.add('/connector_type_id', 'connector_type_id %r is not a connector type Kibana knows' % type_id,
            hint=('did you mean %s?' % guess) if guess else 'known types: %s' % ', '.join(sorted(choices)))
    return False


def _check_credential_headers(out, type_id, config):
    headers = config.get('headers')
    if not isinstance(headers, dict):
        return
    for name in sorted(k for k in headers if credential_header(k)):
        out.add(pointer('config', 'headers', name), 'config.headers.%s looks like a credential: Kibana stores config '
                'in plain text, returns it from its API and an export writes it into git' % name,
                hint=secret_header_alternative(type_id), severity='warning')


def _validate_config(out, type_id, config):
    version = out.version
    schema = schemas.config_schema(type_id, version)
    if 'oneOf' in schema:
        # a union: validate against the branch the discriminator picks, so errors name real fields
        branch = schemas.config_branch(type_id, config, version)
        if branch is None:
            provider = config.get('apiProvider')
            choices = [b['properties']['apiProvider']['const'] for b in schema['oneOf']]
            if provider is None:
                out.add('/config/apiProvider', 'config.apiProvider is required: one of %s' % ', '.join(choices),
                        hint='OpenAI, Azure OpenAI, or Other for any OpenAI-compatible service')
            else:
                guess = _suggest(str(provider), choices)
                out.add('/config/apiProvider', 'config.apiProvider must be one of: %s (got %r)'
                        % (', '.join(choices), provider), hint=('did you mean %s?' % guess) if guess else None)
            return
        key = ('config', type_id, branch['properties']['apiProvider']['const'], version)
        _schema_problems(out, _validator(key, branch), config, '/config', 'config', type_id)
        return
    _schema_problems(out, _validator(('config', type_id, version), schema), config, '/config', 'config', type_id)


def _check_pki(out, type_id, pki, pki_checker):
    if type_id != '.gen-ai':
        out.add('/pki', 'pki is only used by .gen-ai connectors (OpenAI, provider Other); %s has no PKI secrets'
                % type_id, hint='remove pki, or use the type\'s own certificate fields')
        return
    if pki_checker is None or not isinstance(pki, dict) or \
            any(True for _e in _validator('pki', schemas.PKI_SCHEMA).iter_errors(pki)):
        return  # no checker, or the shape is already reported
    try:
        problems = pki_checker(pki)
    except Exception as exc:  # a checker bug must not hide the other problems; its text may quote material
        out.add('/pki', 'pki could not be checked (%s)' % type(exc).__name__, rule='pki-block')
        return
    for sub_pointer, message, severity in problems:
        sub = sub_pointer if not sub_pointer or sub_pointer.startswith('/') else '/' + sub_pointer
        path = '/pki' + sub
        out.add(path, '%s: %s' % (field_name(path), message), severity=severity, rule='pki-block')


# ------------------------------------------------------------------ the set
def validate_specs(specs, sources=None, strict=False, pki_checker=None, kibana_version=None):
    """Validate a list of specs for Kibana ``kibana_version``. Returns a ValidationReport; see docs/internals.md.

    ``kibana_version`` (e.g. '9.2.0'; default versions.NEWEST) picks the release whose rules apply.
    ``pki_checker(pki_block)`` (pki.py's check_spec_pki) returns [(pointer_under_pki, message, severity)];
    without it only the pki block's shape is checked. ``strict`` turns every warning into an error.
    """
    if not HAS_JSONSCHEMA:
        raise ImportError('jsonschema is required to validate connector specs')
    if not isinstance(specs, (list, tuple)):
        specs = [specs]
    version = versions.normalise(kibana_version) or versions.NEWEST
    sources = list(sources or [])
    normalised, errors, warnings = [], [], []
    by_spec = {}
    seen_ids = {}
    seen_names = {}
    for index, spec in enumerate(specs):
        source = sources[index] if index < len(sources) and sources[index] else {}
        out = _Collector(source, _label(spec, index), version)
        normal = _validate_one(spec, out, strict, pki_checker)
        if out.errors and isinstance(spec, dict):
            _annotate_versions(spec, out)
        if isinstance(spec, dict):
            _check_duplicates(out, spec, index, source, seen_ids, seen_names)
        if normal is not None:
            _apply_coercions(normal, out.coerced)
            normalised.append(normal)
        spec_errors = list(out.errors)
        if strict:
            spec_errors += [dict(w, rule=w.get('rule') or 'strict-warning') for w in out.warnings]
        else:
            warnings.extend(out.warnings)
        errors.extend(spec_errors)
        by_spec[index] = spec_errors
    report = ValidationReport(normalised, errors, warnings, version)
    report.errors_by_spec = by_spec
    return report


def _kibana_error_paths(spec, version):
    """JSON pointers of what Kibana ``version`` itself refuses in the spec (no pki checks, no opinions)."""
    out = _Collector({}, None, version)
    _validate_one(spec, out, False, None)
    return [e['path'] for e in out.errors if e['rule'] is None]


def _annotate_versions(spec, out):
    """Say, for each error that another known release would not have, which release accepts it.

    An error at a field is version-specific when some known release has no Kibana error at that field
    (or below it) and no error at a field this release finds right. The nearest newer such release is
    ``accepted_from`` ("the first version that would accept it"); without one, the nearest older is
    ``accepted_until`` ("the last that did").
    """
    version = out.version
    kibana_errors = [e for e in out.errors if e['rule'] is None]
    if not kibana_errors:
        return
    here = versions.parse(version)
    others = {}
    for other in versions.known_around(version):
        if other != version:
            others[other] = _kibana_error_paths(spec, other)

    def clean(path, paths):
        return not any(p == path or p.startswith(path + '/') or path.startswith(p + '/') for p in paths)

    here_paths = [e['path'] for e in kibana_errors]
    for error in kibana_errors:
        accepting = [v for v, paths in others.items() if clean(error['path'], paths)
                     and all(not clean(p, here_paths) for p in paths)]
        if not accepting:
            continue
        newer = sorted((v for v in accepting if versions.parse(v) > here), key=versions.parse)
        older = sorted((v for v in accepting if versions.parse(v) < here), key=versions.parse)
        error['kibana_version'] = version
        if newer:
            error['accepted_from'] = newer[0]
            error['message'] += ' (Kibana %s refuses it; %s is the first release that accepts it)' % (version, newer[0])
        else:
            error['accepted_until'] = older[-1]
            error['message'] += ' (Kibana %s refuses it; %s was the last release that accepted it)' % (
                version, older[-1])


def version_refusal(errors):
    """True when every error is one a known Kibana release would accept (the spec only needs another release)."""
    return bool(errors) and all(e.get('accepted_from') or e.get('accepted_until') for e in errors)


def _apply_coercions(normal, coerced):
    """Numbers and booleans written as strings become what Kibana stores (so spec and live compare equal)."""
    for path, value in coerced:
        parts = [p.replace('~1', '/').replace('~0', '~') for p in path.split('/')[1:]]
        target = normal
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target.get(part)
            if target is None:
                break
        else:
            if isinstance(target, dict) and parts:
                target[parts[-1]] = value
            elif isinstance(target, list) and parts:
                target[int(parts[-1])] = value


def _where(source, index):
    if source.get('file'):
        return '%s document %s' % (source['file'], source.get('document', 0))
    return 'spec #%d' % (index + 1)


def _check_duplicates(out, spec, index, source, seen_ids, seen_names):
    space = spec.get('space_id') or 'default'
    cid = spec.get('connector_id')
    name, type_id = spec.get('name'), spec.get('connector_type_id')
    if not cid and isinstance(name, str) and name.strip() and (spec.get('state') or 'present') == 'present':
        key = ('name-only', space, name, type_id)
        first = seen_names.get(key)
        if first is not None:
            out.add('/name', 'name %r (type %s) is used by two specs without connector_id in space %s (first at %s): '
                    'they would be one connector matched by name, and every later run would fail as ambiguous'
                    % (name, type_id, space, first), hint='give each a connector_id, or remove one', rule='duplicate-name')
            return
        seen_names[key] = _where(source, index)
    if isinstance(cid, str) and cid.strip():
        first = seen_ids.get((space, cid))
        if first is not None:
            out.add('/connector_id', 'connector_id %r is used twice in space %s (first at %s)'
                    % (cid, space, first), hint='ids must be unique within a space')
        else:
            seen_ids[(space, cid)] = _where(source, index)
    name = spec.get('name')
    if isinstance(name, str) and name.strip() and (spec.get('state') or 'present') == 'present':
        first = seen_names.get((space, name))
        if first is not None:
            out.add('/name', 'name %r is used twice in space %s (first at %s): Kibana allows it, but people '
                    'and name-matching cannot tell them apart' % (name, space, first), severity='warning')
        else:
            seen_names[(space, name)] = _where(source, index)


def redact_spec(spec, placeholder='<secret: not shown>'):
    """A copy of a normalised spec that is safe to print: secret values and PKI passphrase/key text hidden."""
    if not isinstance(spec, dict):
        return spec
    safe = copy.deepcopy(spec)
    if isinstance(safe.get('secrets'), dict):
        safe['secrets'] = dict((k, placeholder if v is not None else None) for k, v in safe['secrets'].items())
    pki = safe.get('pki')
    if isinstance(pki, dict):
        # the key may be a path, PEM text, or base64 DER put there by the action plugin: never shown
        for field in ('private_key', 'private_key_passphrase'):
            if pki.get(field) is not None:
                pki[field] = placeholder
    return safe


def leaf_values(value):
    """Every scalar in a nested structure, as strings (what AnsibleModule masks for a no_log option)."""
    if isinstance(value, dict):
        return set().union(*[leaf_values(v) for v in value.values()]) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*[leaf_values(v) for v in value]) if value else set()
    return set([str(value)]) if value is not None and not isinstance(value, bool) else set()


def secret_values(specs):
    """Every secret string in the specs (for AnsibleModule.no_log_values)."""
    found = set()

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value.strip():
            found.add(value)

    for spec in specs if isinstance(specs, (list, tuple)) else [specs]:
        if isinstance(spec, dict):
            walk(spec.get('secrets'))
            pki = spec.get('pki')
            if isinstance(pki, dict):
                walk(pki.get('private_key_passphrase'))
                walk(pki.get('private_key'))
    return found


def format_problem(problem):
    """One readable line: where (file, document, connector, field), what, and the hint."""
    where = []
    if problem.get('file'):
        doc = problem.get('document')
        where.append(problem['file'] + ('' if doc is None else ' document %s' % doc)
                     + ('' if problem.get('item') is None else ' item %s' % problem['item']))
    if problem.get('connector'):
        where.append('connector %s' % problem['connector'])
    message = str(problem.get('message'))
    if problem.get('path') and not message.startswith(field_name(problem['path'])):
        where.append(field_name(problem['path']))  # once: most messages start with the field's name already
    line = '%s: %s' % (', '.join(where), problem.get('message')) if where else str(problem.get('message'))
    if problem.get('hint'):
        line += ' (hint: %s)' % problem['hint']
    return line

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-type JSON Schemas (draft 2020-12) for Kibana connector ``config`` and ``secrets``.

Data only, no I/O: Python so that AnsiballZ ships it with the modules, and the same source
``make schemas`` exports to docs/schemas/*.json for editors. Written from the API reference
(shared/reference/kibana-connectors-api.md §4 for ``.gen-ai``, §5 for the other types).
``CONNECTOR_TYPES`` describes the newest release the collection knows (versions.NEWEST);
``for_version`` derives any other release from it with the table in versions.py (fields that
do not exist yet, required fields, provider branches, server defaults). The rules reconcile.py
and spec.py rely on (docs/internals.md):

* objects are ``additionalProperties: false`` because Kibana's schemas are strict;
* server-side defaults are ``default`` annotations (``"default": None`` for Kibana's
  nullable-with-default-null fields); a ``maybe`` field has no default;
* a union config (``.gen-ai``) is ``oneOf`` branches, each with a ``const`` discriminator;
* ``secrets`` mark Kibana's required fields ``required``; no secrets = an empty strict object.

What JSON Schema cannot say (URLs, ``.gen-ai`` PKI rules, webhook auth combinations, email
service/host, blank strings …) lives in spec.py.
"""
from __future__ import annotations

import copy

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import versions

DRAFT = 'https://json-schema.org/draft/2020-12/schema'

# Defaults of the newest release (versions.py has them per release: gpt-4 on 8.x …)
DEFAULT_OPENAI_MODEL = 'gpt-4.1'
DEFAULT_BEDROCK_MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'
DEFAULT_GEMINI_MODEL = 'gemini-2.5-pro'


# ------------------------------------------------------------------ small builders
def _obj(properties, required=(), description=None):
    schema = {'type': 'object', 'additionalProperties': False, 'properties': properties}
    if required:
        schema['required'] = list(required)
    if description:
        schema['description'] = description
    return schema


def _str(description=None, **extra):
    schema = {'type': 'string'}
    if description:
        schema['description'] = description
    schema.update(extra)
    return schema


def _nullable_str(description=None):
    """Kibana's ``schema.nullable(schema.string())``: null allowed, default null."""
    schema = {'type': ['string', 'null'], 'default': None}
    if description:
        schema['description'] = description
    return schema


def _enum(values, default=None, description=None, nullable=False):
    values = list(values)
    if nullable:
        values.append(None)
    schema = {'enum': values}
    if default is not None:
        schema['default'] = default
    if description:
        schema['description'] = description
    return schema


def _bool(default=None, description=None):
    schema = {'type': 'boolean'}
    if default is not None:
        schema['default'] = default
    if description:
        schema['description'] = description
    return schema


def _number(description=None, **extra):
    schema = {'type': 'number'}
    if description:
        schema['description'] = description
    schema.update(extra)
    return schema


def _headers(nullable=False, max_headers=None):
    schema = {'type': ['object', 'null'] if nullable else 'object', 'additionalProperties': {'type': 'string'},
              'description': 'HTTP headers sent with every request (name: value).'}
    if nullable:
        schema['default'] = None
    if max_headers:
        schema['maxProperties'] = max_headers
    return schema


NO_FIELDS = _obj({})
# No `format: uri`: editors would flag Jinja values ("{{ url }}") and cases-webhook {{{mustache}}};
# spec.py checks URLs with Kibana's semantics instead.
URL = 'A URL with http(s) scheme and a host name.'


# ------------------------------------------------------------------ .gen-ai (reference §4.1, §4.2)
def _gen_ai_branch(provider, extra, required=('apiProvider', 'apiUrl')):
    props = {
        'apiProvider': {'const': provider, 'description': 'The OpenAI-compatible service.'},
        'apiUrl': _str(URL + ' The chat completions endpoint.'),
        'headers': _headers(),
        'contextWindowLength': _number('Context window of the model, in tokens.'),
        'temperature': _number('Sampling temperature.'),
    }
    props.update(extra)
    return _obj(props, required, description='apiProvider: %s' % provider)


GEN_AI_PROVIDERS = ('OpenAI', 'Azure OpenAI', 'Other')

GEN_AI_CONFIG = {
    'type': 'object',
    'description': 'One branch per apiProvider (OpenAI, Azure OpenAI, Other).',
    'required': ['apiProvider', 'apiUrl'],
    'properties': {'apiProvider': {'enum': list(GEN_AI_PROVIDERS)}},
    'oneOf': [
        _gen_ai_branch('Azure OpenAI', {
            'defaultModel': _str('Model used when a request names none (the deployment decides otherwise).'),
        }),
        _gen_ai_branch('OpenAI', {
            'organizationId': _str('OpenAI organization id (OpenAI-Organization header).'),
            'projectId': _str('OpenAI project id (OpenAI-Project header).'),
            'defaultModel': _str('Model used when a request names none.', default=DEFAULT_OPENAI_MODEL),
        }),
        _gen_ai_branch('Other', {
            'defaultModel': _str('Model used when a request names none (required for Other).'),
            'verificationMode': _enum(('full', 'certificate', 'none'),
                                      description='TLS verification for PKI; PKI is only used when this is set.'),
            'enableNativeFunctionCalling': _bool(description='Use the native tool calling API of the model.'),
        }, required=('apiProvider', 'apiUrl', 'defaultModel')),
    ],
}

_PEM_B64 = 'Base64 of the PEM text (not the raw PEM); or use the spec\'s pki: block instead.'
GEN_AI_SECRETS = {
    'type': 'object',
    'additionalProperties': False,
    'description': 'apiKey, or PKI certificateData + privateKeyData (optionally caData), or both.',
    'properties': {
        'apiKey': _str('API key (Authorization: Bearer, or api-key for Azure).'),
        'certificateData': _str('Client certificate: ' + _PEM_B64),
        'privateKeyData': _str('Client private key: ' + _PEM_B64),
        'caData': _str('CA certificate: ' + _PEM_B64),
    },
    'anyOf': [{'required': ['apiKey']}, {'required': ['certificateData']}, {'required': ['privateKeyData']}],
}


# ------------------------------------------------------------------ webhook-style auth (reference §5)
WEBHOOK_AUTH_TYPES = ('webhook-authentication-basic', 'webhook-authentication-ssl',
                      'webhook-oauth2-client-credentials')


def _webhook_auth_config():
    return {
        'hasAuth': _bool(True, 'Whether the endpoint needs authentication.'),
        'authType': _enum(WEBHOOK_AUTH_TYPES, nullable=True, description='Authentication method (with hasAuth).'),
        'certType': _enum(('ssl-crt-key', 'ssl-pfx'), description='Certificate format for SSL authentication.'),
        'ca': _str('CA certificate (base64 PEM) to verify the server.'),
        'verificationMode': _enum(('none', 'certificate', 'full'), description='TLS verification.'),
        'accessTokenUrl': _str('OAuth2 token URL (client credentials).'),
        'clientId': _str('OAuth2 client id.'),
        'scope': _str('OAuth2 scope.'),
        'additionalFields': _str('OAuth2 additional fields, as a JSON string.'),
    }


WEBHOOK_SECRETS = _obj({
    'user': _nullable_str('Basic auth user.'),
    'password': _nullable_str('Basic auth password, or the passphrase of crt/key or pfx.'),
    'crt': _nullable_str('Client certificate (base64).'),
    'key': _nullable_str('Client key (base64).'),
    'pfx': _nullable_str('PKCS#12 bundle (base64).'),
    'clientSecret': _nullable_str('OAuth2 client secret.'),
    'secretHeaders': _headers(nullable=True),
}, description='At most one of: user+password; crt+key (+password); pfx (+password); clientSecret.')


# ------------------------------------------------------------------ the registry
def _type(name, config, secrets, notes=None):
    entry = {'name': name, 'config': config, 'secrets': secrets}
    if notes:
        entry['notes'] = notes
    return entry


def _secrets(*required, **props):
    """A strict secrets object whose listed fields are required strings (plus ``props``)."""
    properties = dict((k, _str()) for k in required)
    properties.update(props)
    return _obj(properties, required)


def _url_config(field, description=URL):
    return _obj({field: _str(description)}, required=(field,))


_SERVICENOW_CONFIG = {
    'apiUrl': _str('ServiceNow instance URL.'),
    'isOAuth': _bool(False, 'Use OAuth (JWT) instead of basic auth.'),
    'userIdentifierValue': _nullable_str('OAuth: the user identifier (required when isOAuth).'),
    'clientId': _nullable_str('OAuth client id (required when isOAuth).'),
    'jwtKeyId': _nullable_str('OAuth JWT verifier key id (required when isOAuth).'),
}
_SERVICENOW_SECRETS = dict(_obj({
    'username': _nullable_str('Basic auth user (required unless isOAuth).'),
    'password': _nullable_str('Basic auth password (required unless isOAuth).'),
    'clientSecret': _nullable_str('OAuth client secret (required when isOAuth).'),
    'privateKey': _nullable_str('OAuth JWT private key (required when isOAuth).'),
    'privateKeyPassword': _nullable_str('Passphrase of privateKey.'),
}, description='username + password (basic auth), or clientSecret + privateKey (OAuth).'),
    anyOf=[{'required': ['username', 'password']}, {'required': ['clientSecret', 'privateKey']}])
_SWIMLANE_MAP = {'type': ['object', 'null'], 'default': None, 'additionalProperties': False,
                 'required': ['id', 'key', 'name', 'fieldType'],
                 'properties': dict((k, _str()) for k in ('id', 'key', 'name', 'fieldType'))}
_AI_TUNING = {
    'contextWindowLength': _number('Context window of the model, in tokens.'),
    'temperature': _number('Sampling temperature.'),
}
_CASES_URLS = ('createIncidentUrl', 'getIncidentUrl', 'viewIncidentUrl', 'updateIncidentUrl')

CONNECTOR_TYPES = {
    # ---- generative AI (reference §4, §5)
    '.gen-ai': _type('OpenAI', GEN_AI_CONFIG, GEN_AI_SECRETS),
    '.bedrock': _type('Amazon Bedrock', _obj(dict({
        'apiUrl': _str(URL + ' The Bedrock runtime endpoint.'),
        'defaultModel': _str('Model id used when a request names none.', default=DEFAULT_BEDROCK_MODEL),
    }, **_AI_TUNING), required=('apiUrl',)), _secrets('accessKey', 'secret')),
    '.gemini': _type('Google Gemini', _obj(dict({
        'apiUrl': _str(URL + ' The Vertex AI endpoint.'),
        'defaultModel': _str('Model used when a request names none.', default=DEFAULT_GEMINI_MODEL),
        'gcpRegion': _str('GCP region, e.g. us-central1.'),
        'gcpProjectID': _str('GCP project id.'),
    }, **_AI_TUNING), required=('apiUrl', 'gcpRegion', 'gcpProjectID')), _obj({
        'credentialsJson': _str('The JSON key of a GCP service account (type "service_account").'),
    }, required=('credentialsJson',))),
    '.inference': _type('AI Connector', _obj(dict({
        'provider': _str('Inference service provider, e.g. openai, elastic.'),
        'taskType': _str('Task type, e.g. chat_completion, completion.'),
        'inferenceId': _str('Elasticsearch inference endpoint id.'),
        'providerConfig': {'type': 'object', 'default': {}, 'description': 'Provider settings (free form).'},
        'taskTypeConfig': {'type': 'object', 'default': {}, 'description': 'Task settings (free form).'},
        'headers': _headers(),
    }, **_AI_TUNING), required=('provider', 'taskType', 'inferenceId')), _obj({
        'providerSecrets': {'type': 'object', 'default': {}, 'description': 'Provider credentials (free form).'},
    })),
    # ---- generic HTTP
    '.webhook': _type('Webhook', _obj(dict({
        'url': _str(URL),
        'method': _enum(('post', 'put', 'patch', 'get', 'delete'), default='post'),
        'headers': _headers(nullable=True, max_headers=20),
    }, **_webhook_auth_config()), required=('url',)), WEBHOOK_SECRETS),
    '.cases-webhook': _type('Webhook - Case Management', _obj(dict({
        'createIncidentUrl': _str(URL + ' May contain {{{mustache}}} variables.'),
        'createIncidentMethod': _enum(('post', 'put'), default='post'),
        'createIncidentJson': _str('JSON body template of the create request.'),
        'createIncidentResponseKey': _str('Key of the incident id in the create response.'),
        'getIncidentUrl': _str(URL),
        'getIncidentMethod': _enum(('get', 'post'), default='get'),
        'getIncidentJson': _nullable_str('JSON body template of the get request.'),
        'getIncidentResponseExternalTitleKey': _str('Key of the incident title in the get response.'),
        'viewIncidentUrl': _str(URL),
        'updateIncidentUrl': _str(URL),
        'updateIncidentMethod': _enum(('post', 'patch', 'put'), default='put'),
        'updateIncidentJson': _str('JSON body template of the update request.'),
        'createCommentUrl': _nullable_str(URL),
        # schema.nullable(oneOf(…, {defaultValue: put})): nullable's own default, null, is what Kibana stores
        'createCommentMethod': dict(_enum(('post', 'put', 'patch'), nullable=True), default=None),
        'createCommentJson': _nullable_str('JSON body template of the comment request.'),
        'headers': _headers(nullable=True),
    }, **_webhook_auth_config()), required=(
        'createIncidentUrl', 'createIncidentJson', 'createIncidentResponseKey', 'getIncidentUrl',
        'getIncidentResponseExternalTitleKey', 'viewIncidentUrl', 'updateIncidentUrl', 'updateIncidentJson')),
        WEBHOOK_SECRETS),
    # ---- chat and notification
    '.slack': _type('Slack', NO_FIELDS, _obj({
        'webhookUrl': _str('Slack incoming webhook URL.'),
    }, required=('webhookUrl',))),
    '.slack_api': _type('Slack API', _obj({
        'allowedChannels': {'type': 'array', 'maxItems': 500, 'description': 'Channels the connector may post to.',
                            # Kibana up to 9.2 needs both; 9.3 made id optional (versions.py)
                            'items': _obj({'id': _str('Channel id (Kibana up to 9.2 requires it).', minLength=1),
                                           'name': _str('Channel name.', minLength=1)}, required=('name',))},
    }), _obj({'token': _str('Slack bot token.', minLength=1)}, required=('token',))),
    '.teams': _type('Microsoft Teams', NO_FIELDS, _obj({
        'webhookUrl': _str('Teams incoming webhook URL.'),
    }, required=('webhookUrl',))),
    '.email': _type('Email', _obj({
        'from': _str('Sender address.'),
        'service': _str('"other" (host/port), "exchange_server", "elastic_cloud", or a well-known service '
                        'such as gmail, outlook365, ses.', default='other'),
        'host': _nullable_str('SMTP host (required with service "other").'),
        'port': {'type': ['integer', 'null'], 'minimum': 1, 'maximum': 65535, 'default': None,
                 'description': 'SMTP port (required with service "other").'},
        'secure': {'type': ['boolean', 'null'], 'default': None, 'description': 'Use TLS from the start.'},
        'hasAuth': _bool(True, 'Authenticate with user/password (secrets).'),
        'tenantId': _nullable_str('Microsoft Exchange tenant id.'),
        'clientId': _nullable_str('Microsoft Exchange client id.'),
        'oauthTokenUrl': _nullable_str('Microsoft Exchange OAuth token URL.'),
    }, required=('from',)), _obj({
        'user': _nullable_str('SMTP user (required when hasAuth).'),
        'password': _nullable_str('SMTP password (required when hasAuth).'),
        'clientSecret': _nullable_str('Microsoft Exchange client secret.'),
    })),
    '.index': _type('Index', _obj({
        'index': _str('Elasticsearch index to write to.'),
        'refresh': _bool(False, 'Refresh the index after each write.'),
        'executionTimeField': _nullable_str('Field that gets the execution time.'),
    }, required=('index',)), NO_FIELDS),
    '.server-log': _type('Server log', NO_FIELDS, NO_FIELDS),
    # ---- incident management and SOAR
    '.pagerduty': _type('PagerDuty', _obj({
        'apiUrl': _nullable_str(URL + ' Default: the PagerDuty Events API v2.'),
    }), _secrets('routingKey')),
    '.opsgenie': _type('Opsgenie', _url_config('apiUrl'), _secrets('apiKey')),
    '.xmatters': _type('xMatters', _obj({
        'configUrl': _nullable_str(URL + ' Required with basic auth (usesBasic).'),
        'usesBasic': _bool(True, 'Basic auth (configUrl + user/password) instead of a secretsUrl.'),
    }), dict(_obj({
        'user': _nullable_str('Basic auth user.'),
        'password': _nullable_str('Basic auth password.'),
        'secretsUrl': _nullable_str('URL with the API key in it (when usesBasic is false).'),
    }, description='user + password (usesBasic), or secretsUrl.'),
        anyOf=[{'required': ['user', 'password']}, {'required': ['secretsUrl']}])),
    '.jira': _type('Jira', _obj({
        'apiUrl': _str(URL),
        'projectKey': _str('Jira project key.'),
    }, required=('apiUrl', 'projectKey')), _secrets('email', 'apiToken')),
    '.servicenow': _type('ServiceNow ITSM', _obj(dict(_SERVICENOW_CONFIG, usesTableApi=_bool(
        True, 'Use the Table API (deprecated) instead of the Elastic app.')), required=('apiUrl',)),
        _SERVICENOW_SECRETS),
    '.servicenow-sir': _type('ServiceNow SecOps', _obj(dict(_SERVICENOW_CONFIG, usesTableApi=_bool(
        True, 'Use the Table API (deprecated) instead of the Elastic app.')), required=('apiUrl',)),
        _SERVICENOW_SECRETS),
    '.servicenow-itom': _type('ServiceNow ITOM', _obj(dict(_SERVICENOW_CONFIG), required=('apiUrl',)),
                              _SERVICENOW_SECRETS),
    '.resilient': _type('IBM Resilient', _obj({
        'apiUrl': _str(URL),
        'orgId': _str('Resilient organization id.'),
    }, required=('apiUrl', 'orgId')), _secrets('apiKeyId', 'apiKeySecret')),
    '.swimlane': _type('Swimlane', _obj({
        'apiUrl': _str(URL),
        'appId': _str('Swimlane application id.'),
        'connectorType': _enum(('all', 'alerts', 'cases'), description='What the connector creates.'),
        'mappings': _obj(dict((k, copy.deepcopy(_SWIMLANE_MAP)) for k in (
            'ruleNameConfig', 'alertIdConfig', 'caseIdConfig', 'caseNameConfig', 'commentsConfig',
            'severityConfig', 'descriptionConfig')), description='Swimlane field mappings.'),
    }, required=('apiUrl', 'appId', 'connectorType', 'mappings')), _secrets('apiToken')),
    '.tines': _type('Tines', _url_config('url'), _secrets('email', 'token')),
    '.torq': _type('Torq', _url_config('webhookIntegrationUrl', URL + ' The Torq webhook integration.'),
                   _secrets('token')),
    '.d3security': _type('D3 Security', _url_config('url'), _secrets('token')),
}


# ------------------------------------------------------------------ per release (versions.py)
_BY_VERSION = {}
_PKI_SECRETS = ('certificateData', 'privateKeyData', 'caData')


def _drop(schema, fields):
    for field in fields:
        schema.get('properties', {}).pop(field, None)
        if field in schema.get('required', []):
            schema['required'].remove(field)


def _apply_defaults(type_id, branch_name, schema, version):
    """The release's server defaults; a default the table does not know for this release becomes
    ``x-server-default: unknown`` (reconcile then accepts what Kibana stored when the spec omits it)."""
    for (tid, branch, field) in versions.defaulted_fields():
        prop = schema.get('properties', {}).get(field)
        if tid != type_id or branch not in (None, branch_name) or prop is None:
            continue
        known, value = versions.server_default(type_id, branch_name, field, version)
        if known and value is None:
            prop.pop('default', None)  # the release stores no default
        elif known:
            prop['default'] = value
        else:
            prop.pop('default', None)
            prop['x-server-default'] = 'unknown'


def _entry_for_version(type_id, entry, version):
    entry = copy.deepcopy(entry)
    config = entry['config']
    if 'oneOf' in config:
        gone = versions.missing_branches(type_id, version)
        config['oneOf'] = [b for b in config['oneOf'] if b['properties']['apiProvider']['const'] not in gone]
        config['properties']['apiProvider']['enum'] = [
            p for p in config['properties']['apiProvider']['enum'] if p not in gone]
        branches = [(b['properties']['apiProvider']['const'], b) for b in config['oneOf']]
    else:
        branches = [(None, config)]
    for name, branch in branches:
        _drop(branch, versions.missing_fields(type_id, 'config', name, version))
        _apply_defaults(type_id, name, branch, version)
    _drop(entry['secrets'], versions.missing_fields(type_id, 'secrets', None, version))
    if type_id == '.gen-ai' and not versions.supports('gen-ai-pki', version):
        # before PKI: secrets {apiKey} only, and no verificationMode (both came with PR #215624)
        _drop(entry['secrets'], _PKI_SECRETS)
        entry['secrets']['anyOf'] = [{'required': ['apiKey']}]
        for name, branch in branches:
            _drop(branch, ('verificationMode',))
    if type_id == '.slack_api' and not versions.supports('slack-api-channel-id-optional', version):
        entry['config']['properties']['allowedChannels']['items']['required'] = ['id', 'name']
    return entry


def for_version(version=None):
    """CONNECTOR_TYPES as Kibana ``version`` has them (None: the newest known release). Cached."""
    key = versions.normalise(version) or versions.NEWEST
    if versions.parse(key) > versions.parse(versions.NEWEST):
        key = versions.NEWEST
    types = _BY_VERSION.get(key)
    if types is None:
        types = _BY_VERSION[key] = dict(
            (tid, _entry_for_version(tid, entry, key)) for tid, entry in CONNECTOR_TYPES.items()
            if versions.type_exists(tid, key))
    return types


# ------------------------------------------------------------------ accessors (docs/internals.md)
def known_types(version=None):
    return sorted(for_version(version) if version else CONNECTOR_TYPES)


def config_schema(type_id, version=None):
    entry = for_version(version).get(type_id)
    return entry['config'] if entry else None


def secrets_schema(type_id, version=None):
    entry = for_version(version).get(type_id)
    return entry['secrets'] if entry else None


def type_name(type_id):
    entry = CONNECTOR_TYPES.get(type_id)
    return entry['name'] if entry else None


def config_branch(type_id, config, version=None):
    """For a union config, the branch whose ``const`` discriminators match ``config`` (else None);
    for a plain config, the schema itself."""
    schema = config_schema(type_id, version)
    if schema is None or 'oneOf' not in schema:
        return schema
    for branch in schema['oneOf']:
        consts = dict((k, p['const']) for k, p in branch.get('properties', {}).items()
                      if isinstance(p, dict) and 'const' in p)
        if consts and all(isinstance(config, dict) and config.get(k) == v for k, v in consts.items()):
            return branch
    return None


def copy_of(type_id):
    """A deep copy of one type's entry (callers may annotate it freely)."""
    return copy.deepcopy(CONNECTOR_TYPES.get(type_id))


# ------------------------------------------------------------------ the spec around config and secrets
SPEC_FIELDS = ('connector_id', 'name', 'connector_type_id', 'space_id', 'state', 'config', 'secrets', 'pki', 'kibana_yml')

PKI_SCHEMA = _obj({
    'certificate': _str('Client certificate: a PEM file path, or the PEM text.'),
    'private_key': _str('Private key of the certificate: a PEM file path, or the PEM text.'),
    'ca': _str('CA certificate(s) that verify the server: a PEM file path, or the PEM text.'),
    'private_key_passphrase': _str('Passphrase of an encrypted private key.'),
}, description='.gen-ai PKI (mTLS) material; becomes the certificateData/privateKeyData/caData secrets.')


KIBANA_YML_SCHEMA = _obj({
    'preconfigured': _bool(False, 'Declare this connector in kibana.yml (xpack.actions.preconfigured, rendered by '
                                  'the kibana_settings role) instead of through the API.'),
    'expose_config': _bool(False, 'Preconfigured only: let the API show the config (exposeConfig).'),
    'custom_host': _obj({
        'verification_mode': _enum(('none', 'certificate', 'full'), description='ssl.verificationMode for the host.'),
        'certificate_authorities_files': {'type': 'array', 'items': {'type': 'string', 'minLength': 1},
                                          'description': 'CA files on the Kibana host (ssl.certificateAuthoritiesFiles).'},
        'certificate_authorities_data': _str('CA certificates as PEM text (ssl.certificateAuthoritiesData).'),
    }, description="xpack.actions.customHostSettings for the host of this connector's URL."),
}, description='kibana.yml side of the connector (filter actions_settings, role kibana_settings).')


def spec_base_schema():
    """The spec's own fields; config and secrets are checked against the type's schemas separately."""
    return {
        'type': 'object',
        'additionalProperties': False,
        'properties': {
            'connector_id': _str('Stable connector id; recommended (GitOps identity).'),
            'name': _str('Display name.'),
            'connector_type_id': _str("Kibana's connector type id, e.g. .gen-ai."),
            'space_id': _str('Kibana space.', default='default'),
            'state': _enum(('present', 'absent'), default='present'),
            'config': {'type': ['object', 'null'], 'description': "The type's config, Kibana's field names."},
            'secrets': {'type': ['object', 'null'], 'description': "The type's secrets (write-only)."},
            'pki': PKI_SCHEMA,
            'kibana_yml': KIBANA_YML_SCHEMA,
        },
        'if': {'properties': {'state': {'const': 'absent'}}, 'required': ['state']},
        'then': {'anyOf': [{'required': ['connector_id']}, {'required': ['name']}]},
        'else': {'required': ['name', 'connector_type_id']},
    }


def _def_name(type_id, part):
    return '%s.%s' % (part, type_id.lstrip('.'))


def spec_schema(type_id=None):
    """A self-contained schema for editors: a spec (or a list of specs) dispatching on connector_type_id.

    With ``type_id``, the schema of a spec of that one type.
    """
    types = [type_id] if type_id else known_types()
    defs = {}
    dispatch = []
    for tid in types:
        for part in ('config', 'secrets'):
            defs[_def_name(tid, part)] = copy.deepcopy(CONNECTOR_TYPES[tid][part])
        dispatch.append({
            'if': {'properties': {'connector_type_id': {'const': tid}}, 'required': ['connector_type_id']},
            'then': {'properties': {'config': {'$ref': '#/$defs/%s' % _def_name(tid, 'config')},
                                    'secrets': {'$ref': '#/$defs/%s' % _def_name(tid, 'secrets')}}},
        })
    spec = spec_base_schema()
    spec['properties']['connector_type_id'] = dict(spec['properties']['connector_type_id'], enum=types)
    spec['allOf'] = dispatch
    defs['spec'] = spec
    title = 'Kibana connector spec' + (' (%s, %s)' % (CONNECTOR_TYPES[type_id]['name'], type_id) if type_id else '')
    return {
        '$schema': DRAFT,
        '$id': 'https://kibana-gitops.example.invalid/schemas/%s' % schema_file_name(type_id),
        'title': title,
        'description': 'kibana_gitops.connectors spec: one connector, or a list of them (one YAML document).',
        'if': {'type': 'array'},
        'then': {'type': 'array', 'items': {'$ref': '#/$defs/spec'}},
        'else': {'$ref': '#/$defs/spec'},
        '$defs': defs,
    }


def schema_file_name(type_id=None):
    return 'connector-spec.schema.json' if not type_id else 'connector-spec.%s.schema.json' % type_id.lstrip('.')

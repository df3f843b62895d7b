"""Connector types: config/secrets schemas, custom validators and defaults (reference §4, §5).

Every type follows the same pipeline (``validation.validate_connector``): the config schema, then
the config custom validator, the secrets schema, the secrets custom validator, then the
connector-level validator, which Kibana calls with the *raw* request config and secrets, not the
validated ones (``create.ts``: ``validateConnector(actionType, { config, secrets })``). That is why
an email connector created without ``hasAuth`` and without user/password is accepted (Terraform
data set tf-022), while ``hasAuth: true`` without them is not.

Custom validators raise ``ValueError(message)``; the caller adds Kibana's prefix.
Licences and feature ids that the reference marks UNVERIFIED are noted per type.
"""
import base64
import binascii
import json
import re

from . import config_schema as s
from . import versions
from .urls import InvalidURL, parse_js_url

ALERTING, CASES, UPTIME, SIEM = 'alerting', 'cases', 'uptime', 'siem'
# UNVERIFIED (§4): probable ids of the GenAI feature constants.
GENAI = ['generativeAIForSecurity', 'generativeAIForObservability', 'generativeAIForSearchPlayground']

# Bedrock/Gemini defaults from stack_connectors common/{bedrock,gemini}/constants.ts (one revision each;
# §5 has the Bedrock value from a 9.3 test). Which release each value shipped in is UNVERIFIED.
DEFAULT_BEDROCK_MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'
DEFAULT_GEMINI_MODEL = 'gemini-2.5-pro'
PAGERDUTY_API_URL = 'https://events.pagerduty.com/v2/enqueue'


class Settings(object):
    """What the validators need from the command line: the allow-list and the Kibana version
    (versions.py decides which facts hold for it)."""

    def __init__(self, kibana_version, allow_list):
        self.kibana = versions.KibanaVersion(kibana_version)
        self.version_text = kibana_version
        self.version = self.kibana.version
        self.allow_list = allow_list

    def has(self, fact):
        return self.kibana.has(fact)

    @property
    def era(self):
        return self.kibana.era

    @property
    def pki(self):
        """PKI secrets for .gen-ai: 8.19 / 9.1+ (versions.FACTS['genai_pki'])."""
        return self.has('genai_pki')

    @property
    def v9(self):
        return self.version[:1] >= (9,)


class ConnectorType(object):
    def __init__(self, type_id, name, license, features, config, secrets, config_validator=None,
                 secrets_validator=None, connector_validator=None, system=False):
        self.id = type_id
        self.name = name
        self.license = license
        self.features = features
        self._config = config      # schema, or fn(settings) -> schema
        self._secrets = secrets
        self.config_validator = config_validator        # fn(config, settings); raises ValueError
        self.secrets_validator = secrets_validator      # fn(secrets, settings); raises ValueError
        self.connector_validator = connector_validator  # fn(raw_config, raw_secrets) -> text or None
        self.system = system

    def config_schema(self, settings):
        return self._config(settings) if callable(self._config) else self._config

    def secrets_schema(self, settings):
        return self._secrets(settings) if callable(self._secrets) else self._secrets


def empty():
    """schema.object({}, {defaultValue: {}}): strict, no keys."""
    return s.obj({}, default={})


# --- shared validator helpers -------------------------------------------------------------------

def _js_url_or_raise(url, template):
    try:
        return parse_js_url(url)
    except InvalidURL as e:
        raise ValueError(template % ('TypeError: %s' % e))


def _allow_or_raise(settings, url, prefix):
    try:
        settings.allow_list.ensure_uri_allowed(url)
    except ValueError as e:
        raise ValueError(prefix + str(e))


def assert_url(url):
    """sub_action_framework/helpers/validators.ts assertURL (§4.1 step 1); raises ValueError('URL Error: …')."""
    try:
        parsed = parse_js_url(url)
    except InvalidURL as e:
        raise ValueError('URL Error: %s' % e)
    if not parsed.hostname:
        raise ValueError('URL Error: URL must contain hostname')
    if parsed.protocol not in ('http:', 'https:'):
        raise ValueError('URL Error: Invalid protocol')


def url_allow_list_validator(key):
    """urlAllowListValidator(key) of the sub-action framework: ``error validating url: …``."""
    def validator(config, settings):
        try:
            settings.allow_list.ensure_uri_allowed(config.get(key, ''))
        except ValueError as e:
            raise ValueError('error validating url: %s' % e)
    return validator


def genai_style_config_validator(display):
    """assertURL + allow-list, wrapped as ``Error configuring <display> action: Error: …`` (§4.1, §5 bedrock/gemini)."""
    def validator(config, settings):
        try:
            assert_url(config['apiUrl'])
            url_allow_list_validator('apiUrl')(config, settings)
        except ValueError as e:
            raise ValueError('Error configuring %s action: Error: %s' % (display, e))
    return validator


def cases_allow_list(config, settings):
    """validateCommonConfig of jira/servicenow/resilient/swimlane: ``error configuring connector action: …``."""
    _allow_or_raise(settings, config['apiUrl'], 'error configuring connector action: ')


# --- .gen-ai (§4) -------------------------------------------------------------------------------

def ai_tail(settings, headers=False):
    """Fields the GenAI types gained over time (versions.FACTS: context_window_length, temperature)."""
    tail = [('headers', s.maybe(s.record(s.string())))] if headers else []
    if settings.has('context_window_length'):
        tail.append(('contextWindowLength', s.maybe(s.number())))
    if settings.has('temperature'):
        tail.append(('temperature', s.maybe(s.number())))
    return tail


def genai_config(settings):
    """§4.1: oneOf Azure / OpenAI / Other (Other from versions.FACTS['genai_other_provider'])."""
    tail = ai_tail(settings, headers=True)
    azure = [('apiProvider', s.literal('Azure OpenAI')), ('apiUrl', s.string())]
    if settings.has('genai_azure_default_model'):
        azure.append(('defaultModel', s.maybe(s.string())))
    openai = [('apiProvider', s.literal('OpenAI')), ('apiUrl', s.string())]
    if settings.has('genai_organization_project'):
        openai += [('organizationId', s.maybe(s.string())), ('projectId', s.maybe(s.string()))]
    openai.append(('defaultModel', s.string(default=settings.kibana.default_openai_model)))
    branches = [s.obj(dict(azure + tail)), s.obj(dict(openai + tail))]
    if settings.has('genai_other_provider'):
        other = [('apiProvider', s.literal('Other')), ('apiUrl', s.string()), ('defaultModel', s.string())]
        if settings.pki:
            # maybe(oneOf(..., {defaultValue: 'full'})) / z.enum(...).default('full').optional(): the default
            # only takes effect under zod v4 (versions.FACTS['optional_default_applied']).
            other.append(('verificationMode', s.maybe(s.enum(['full', 'certificate', 'none'], default='full'))))
        other += tail
        if settings.has('genai_native_function_calling'):
            other.append(('enableNativeFunctionCalling', s.maybe(s.boolean())))
        branches.append(s.obj(dict(other)))
    # dict() keeps insertion order on 3.7+, so fields validate in Kibana's order.
    return s.one_of(branches)


def genai_secrets(settings):
    if not settings.pki:
        return s.obj({'apiKey': s.string()})  # 8.x <= 8.18 and 9.0: no PKI keys (§4.2)
    return s.one_of([
        s.obj({'apiKey': s.string()}),
        s.obj({'apiKey': s.maybe(s.string(min_length=1)), 'certificateData': s.maybe(s.string(min_length=1)),
               'privateKeyData': s.maybe(s.string(min_length=1)), 'caData': s.maybe(s.string(min_length=1))}),
    ])


def genai_config_validator(config, settings):
    """configValidator (§4.1): URL, allow-list, provider; wrapped with err.toString()."""
    try:
        assert_url(config['apiUrl'])
        url_allow_list_validator('apiUrl')(config, settings)
        if config['apiProvider'] not in ('OpenAI', 'Azure OpenAI', 'Other'):
            raise ValueError('API Provider is not supported: %s' % config['apiProvider'])
    except ValueError as e:
        raise ValueError('Error configuring OpenAI action: Error: %s' % e)


def _lenient_b64decode(data):
    """Node's Buffer.from(data, 'base64'): skips characters outside the alphabet, accepts url-safe ones."""
    cleaned = re.sub(r'[^A-Za-z0-9+/\-_]', '', data.split('=')[0]).replace('-', '+').replace('_', '/')
    cleaned = cleaned[:len(cleaned) - len(cleaned) % 4 if len(cleaned) % 4 == 1 else len(cleaned)]
    try:
        return base64.b64decode(cleaned + '=' * (-len(cleaned) % 4)).decode('utf-8', 'replace')
    except (binascii.Error, ValueError):
        return ''


CERT_HEADER = '-----BEGIN CERTIFICATE-----'
KEY_HEADERS = ('-----BEGIN PRIVATE KEY-----', '-----BEGIN RSA PRIVATE KEY-----')


def genai_secrets_validator(secrets, settings):
    """secretsValidator (§4.2, newest revision): PKI rules when cert or key is truthy, else apiKey."""
    if not settings.pki:
        return
    if secrets.get('certificateData') or secrets.get('privateKeyData'):
        if not any(k in secrets for k in ('caData', 'certificateData', 'privateKeyData')):
            raise ValueError('PKI configuration requires certificate and private key')
        if not secrets.get('certificateData'):
            raise ValueError('Certificate data must be provided for PKI')
        if not secrets.get('privateKeyData'):
            raise ValueError('Private key data must be provided for PKI')
        if CERT_HEADER not in _lenient_b64decode(secrets['certificateData']):
            raise ValueError('Invalid Certificate data file format: The file must be a PEM-encoded certificate '
                             'beginning with "-----BEGIN CERTIFICATE-----".')
        if not any(h in _lenient_b64decode(secrets['privateKeyData']) for h in KEY_HEADERS):
            raise ValueError('Invalid Private key data file format: The file must be a PEM-encoded private key '
                             'beginning with "-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----".')
        if secrets.get('caData') and CERT_HEADER not in _lenient_b64decode(secrets['caData']):
            raise ValueError('Invalid CA certificate data file format: The file must be a PEM-encoded certificate '
                             'beginning with "-----BEGIN CERTIFICATE-----".')
    elif not secrets.get('apiKey'):
        # The validator imitates config-schema's text (§4.2 nonPkiSecretsValidator).
        raise ValueError('[apiKey]: expected value of type [string] but got [undefined]')


# --- webhook family (§5 .webhook, .cases-webhook; common/auth/schema.ts) -----------------------

AUTH_TYPES = ['webhook-authentication-basic', 'webhook-authentication-ssl', 'webhook-oauth2-client-credentials', None]


def auth_config_props(oauth=True):
    props = [
        ('hasAuth', s.boolean(default=True)),
        ('authType', s.maybe(s.enum(AUTH_TYPES if oauth else AUTH_TYPES[:2] + [None]))),
        ('certType', s.maybe(s.enum(['ssl-crt-key', 'ssl-pfx']))),
        ('ca', s.maybe(s.string())),
        ('verificationMode', s.maybe(s.enum(['none', 'certificate', 'full']))),
    ]
    if oauth:
        props += [('accessTokenUrl', s.maybe(s.string())), ('clientId', s.maybe(s.string())),
                  ('scope', s.maybe(s.string())), ('additionalFields', s.maybe(s.string()))]
    return props


def webhook_secrets_check(secrets):
    """WebhookSecretConfigurationSchemaValidation: exactly one credential scheme (or none)."""
    g = secrets.get
    if not any(g(k) for k in ('password', 'user', 'crt', 'key', 'pfx', 'clientSecret')):
        return None
    if g('password') and g('user') and not any(g(k) for k in ('crt', 'key', 'pfx', 'clientSecret')):
        return None
    if g('crt') and g('key') and not any(g(k) for k in ('user', 'pfx', 'clientSecret')):
        return None
    if g('pfx') and not any(g(k) for k in ('crt', 'key', 'user', 'clientSecret')):
        return None
    if g('clientSecret') and not any(g(k) for k in ('crt', 'key', 'user', 'pfx')):
        return None
    return ('must specify one of the following schemas: user and password; crt and key (with optional password); '
            'pfx (with optional password); or clientSecret (for OAuth2)')


def basic_ssl_secrets_check(secrets):
    """SecretConfigurationSchemaValidation (cases webhook: no OAuth2)."""
    g = secrets.get
    if not any(g(k) for k in ('password', 'user', 'crt', 'key', 'pfx')):
        return None
    if g('password') and g('user') and not any(g(k) for k in ('crt', 'key', 'pfx')):
        return None
    if g('crt') and g('key') and not any(g(k) for k in ('user', 'pfx')):
        return None
    if g('pfx') and not any(g(k) for k in ('crt', 'key', 'user')):
        return None
    return ('must specify one of the following schemas: user and password; crt and key (with optional password); '
            'or pfx (with optional password)')


def _is_js_url(value):
    try:
        parse_js_url(value)
    except InvalidURL:
        return False
    return True


# z.string().url() (zod v3: "Invalid url"; v4: "Invalid URL"): the zod-era webhook schema checks the URL
# itself (kbn-connector-schemas webhook; webhook/index.test.ts snapshot 'Field "url": Invalid url').
ZOD_URL = ('url', _is_js_url)


def webhook_config(settings):
    props = [('url', s.string(zod_format=ZOD_URL)),
             ('method', s.enum(['post', 'put', 'patch', 'get', 'delete'], default='post')),
             ('headers', s.nullable(s.record(s.string())))] + auth_config_props()
    return s.obj(dict(props))


def webhook_secrets(settings):
    props = [(k, s.nullable(s.string())) for k in ('user', 'password', 'crt', 'key', 'pfx', 'clientSecret')]
    props.append(('secretHeaders', s.nullable(s.record(s.string()))))  # §5: newest; UNVERIFIED for 9.2
    return s.obj(dict(props), validate=webhook_secrets_check)


def webhook_config_validator(config, settings):
    """webhook/index.ts validateConnectorTypeConfig (9.x CS era prefix ``error validation webhook action config``)."""
    prefix = 'error validation webhook action config: '
    _js_url_or_raise(config['url'], prefix + 'unable to parse url: %s')
    _allow_or_raise(settings, config['url'], prefix)
    if config.get('authType') and not config['hasAuth']:
        raise ValueError(prefix + 'authType must be null or undefined if hasAuth is false')
    if config.get('authType') == 'webhook-oauth2-client-credentials':
        # Field list text from §5; the wrapper around it is UNVERIFIED.
        missing = [label for key, label in (('accessTokenUrl', 'Access Token URL (accessTokenUrl)'),
                                            ('clientId', 'Client ID (clientId)')) if not config.get(key)]
        if missing:
            raise ValueError(prefix + 'missing %s fields' % ', '.join(missing))
    if config.get('additionalFields') is not None:
        try:
            parsed = json.loads(config['additionalFields'])
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not parsed:
            raise ValueError(prefix + 'additionalFields must be a non-empty JSON object.')


CASES_WEBHOOK_URLS = ('createIncidentUrl', 'createCommentUrl', 'viewIncidentUrl', 'getIncidentUrl', 'updateIncidentUrl')


def cases_webhook_config(settings):
    props = [
        ('createIncidentUrl', s.string()),
        ('createIncidentMethod', s.enum(['post', 'put'], default='post')),
        ('createIncidentJson', s.string()),
        ('createIncidentResponseKey', s.string()),
        ('getIncidentMethod', s.enum(['get', 'post'], default='get')),
        ('getIncidentUrl', s.string()),
        ('getIncidentJson', s.nullable(s.string())),
        ('getIncidentResponseExternalTitleKey', s.string()),
        ('viewIncidentUrl', s.string()),
        ('updateIncidentUrl', s.string()),
        ('updateIncidentMethod', s.enum(['post', 'patch', 'put'], default='put')),
        ('updateIncidentJson', s.string()),
        ('createCommentUrl', s.nullable(s.string())),
        # schema.nullable(oneOf(..., {defaultValue: put})): nullable's own default (null) wins.
        ('createCommentMethod', s.nullable(s.enum(['post', 'put', 'patch'], default='put'))),
        ('createCommentJson', s.nullable(s.string())),
        ('headers', s.nullable(s.record(s.string()))),
    ] + auth_config_props()
    return s.obj(dict(props))


def cases_webhook_secrets(settings):
    return s.obj(dict((k, s.nullable(s.string())) for k in ('user', 'password', 'crt', 'key', 'pfx')),
                 validate=basic_ssl_secrets_check)


def cases_webhook_config_validator(config, settings):
    """cases_webhook/validators.ts validateCasesWebhookConfig."""
    if config.get('authType') == 'webhook-oauth2-client-credentials':
        raise ValueError('OAuth2 authentication is not supported for cases webhook connector')
    for key in CASES_WEBHOOK_URLS:
        url = config.get(key)
        if url:
            try:
                parse_js_url(url)
            except InvalidURL as e:
                raise ValueError('error configuring cases webhook action: unable to parse %s: TypeError: %s' % (url, e))
            _allow_or_raise(settings, url, 'error configuring cases webhook action: ')


def cases_webhook_connector(config, secrets):
    if config.get('hasAuth') and not secrets:
        return 'must specify a secrets configuration'
    return None


# --- notification types -------------------------------------------------------------------------

def webhook_url_secrets_validator(display):
    """slack / teams secrets validators: ``error configuring <x> action: unable to parse host name from webhookUrl``."""
    def validator(secrets, settings):
        if 'webhookUrl' not in secrets:
            return
        try:
            parse_js_url(secrets['webhookUrl'])
        except InvalidURL:
            raise ValueError('error configuring %s action: unable to parse host name from webhookUrl' % display)
        _allow_or_raise(settings, secrets['webhookUrl'], 'error configuring %s action: ' % display)
    return validator


def slack_api_config(settings):
    # Each channel needs id and name up to 9.2; the id is optional from 9.3
    # (versions.FACTS['slack_api_channel_id_optional']).
    channel_id = s.string(min_length=1)
    if settings.has('slack_api_channel_id_optional'):
        channel_id = s.maybe(channel_id)
    channel = s.obj({'id': channel_id, 'name': s.string(min_length=1)})
    return s.obj({'allowedChannels': s.maybe(s.array(channel, max_size=500))}, default={})


EMAIL_CUSTOM_HOST_SERVICES = ('other',)
# nodemailer/lib/well-known (subset, case-insensitive keys); UNVERIFIED beyond these common ones.
EMAIL_WELL_KNOWN = {
    'gmail': 'smtp.gmail.com', 'googlemail': 'smtp.gmail.com',
    'hotmail': 'smtp-mail.outlook.com', 'outlook': 'smtp-mail.outlook.com', 'outlook.com': 'smtp-mail.outlook.com',
    'outlook365': 'smtp.office365.com', 'office365': 'smtp.office365.com',
    'ses': 'email-smtp.us-east-1.amazonaws.com', 'sendgrid': 'smtp.sendgrid.net', 'mailgun': 'smtp.mailgun.org',
    'yahoo': 'smtp.mail.yahoo.com', 'zoho': 'smtp.zoho.com', 'postmark': 'smtp.postmarkapp.com',
    'elastic_cloud': 'dockerhost',
}


def email_config(settings):
    return s.obj(dict([
        ('service', s.string(default='other')),
        ('host', s.nullable(s.string())),
        ('port', s.nullable(s.number(minimum=1, maximum=65535))),
        ('secure', s.nullable(s.boolean())),
        ('from', s.string()),
        ('hasAuth', s.boolean(default=True)),
        ('tenantId', s.nullable(s.string())),
        ('clientId', s.nullable(s.string())),
        ('oauthTokenUrl', s.nullable(s.string())),
    ]))


def email_config_validator(config, settings):
    """email/index.ts validateConfig (texts are not translated there, see its comment)."""
    allow = settings.allow_list
    token_url = config.get('oauthTokenUrl')
    if token_url and not allow.is_uri_allowed(token_url):
        raise ValueError("[oauthTokenUrl]: host name value for '%s' is not in the allowedHosts configuration" % token_url)
    service = config['service']
    if service == '__json':
        return
    if service == 'exchange_server':
        if config.get('clientId') is None and config.get('tenantId') is None:
            raise ValueError('[clientId]/[tenantId] is required')
        if config.get('clientId') is None:
            raise ValueError('[clientId] is required')
        if config.get('tenantId') is None:
            raise ValueError('[tenantId] is required')
    elif service in EMAIL_CUSTOM_HOST_SERVICES:
        if config.get('host') is None and config.get('port') is None:
            raise ValueError('[host]/[port] is required')
        if config.get('host') is None:
            raise ValueError('[host] is required')
        if config.get('port') is None:
            raise ValueError('[port] is required')
        if not allow.is_hostname_allowed(config['host']):
            raise ValueError("[host] value '%s' is not in the allowedHosts configuration" % config['host'])
    else:
        host = EMAIL_WELL_KNOWN.get(service.lower())
        if host is None:
            raise ValueError("[service] value '%s' is not valid" % service)
        if not allow.is_hostname_allowed(host):
            raise ValueError("[service] value '%s' resolves to host '%s' which is not in the allowedHosts configuration"
                             % (service, host))


def email_connector(config, secrets):
    if config.get('service') == 'exchange_server':
        if secrets.get('clientSecret') is None:
            return '[clientSecret] is required'
    elif config.get('hasAuth') and (secrets.get('password') is None or secrets.get('user') is None):
        if secrets.get('user') is None:
            return '[user] is required'
        return '[password] is required'
    return None


def pagerduty_config_validator(config, settings):
    _allow_or_raise(settings, config.get('apiUrl') or PAGERDUTY_API_URL, 'error configuring pagerduty action: ')


def torq_config_validator(config, settings):
    prefix = 'error configuring send to Torq action: '
    parsed = _js_url_or_raise(config['webhookIntegrationUrl'], prefix + 'unable to parse url: %s')
    _allow_or_raise(settings, config['webhookIntegrationUrl'], prefix)
    if not re.match(r'^hooks\.(eu\.)?torq\.io$', parsed.hostname) and parsed.hostname != 'localhost':
        raise ValueError(prefix + 'url must begin with https://hooks.torq.io or https://hooks.eu.torq.io')


# --- ITSM / SOAR types ---------------------------------------------------------------------------

def servicenow_config(with_table_api):
    def build(settings):
        props = [('apiUrl', s.string()), ('isOAuth', s.boolean(default=False)),
                 ('userIdentifierValue', s.nullable(s.string())), ('clientId', s.nullable(s.string())),
                 ('jwtKeyId', s.nullable(s.string()))]
        if with_table_api:
            props.append(('usesTableApi', s.boolean(default=True)))
        return s.obj(dict(props))
    return build


SERVICENOW_SECRETS = s.obj(dict((k, s.nullable(s.string()))
                                for k in ('username', 'password', 'clientSecret', 'privateKey', 'privateKeyPassword')))


def servicenow_connector(config, secrets):
    """servicenow/validators.ts validateCommonConnector (on the raw request values)."""
    def missing(field, oauth):
        return '%s must be provided when isOAuth = %s' % (field, 'true' if oauth else 'false')
    if config.get('isOAuth'):
        for key, label in (('userIdentifierValue', 'userIdentiferValue'), ('clientId', 'clientId'),
                           ('jwtKeyId', 'jwtKeyId')):
            if config.get(key) is None:
                return missing(label, True)
        for key in ('clientSecret', 'privateKey'):
            if secrets.get(key) is None:
                return missing(key, True)
        if secrets.get('username') or secrets.get('password'):
            return 'Username and password should not be provided with isOAuth = true'
    else:
        for key in ('username', 'password'):
            if secrets.get(key) is None:
                return missing(key, False)
        if (secrets.get('clientSecret') or config.get('clientId') or config.get('userIdentifierValue')
                or config.get('jwtKeyId') or secrets.get('privateKey')):
            return ('clientId, clientSecret, userIdentiferValue, jwtKeyId and privateKey should not be provided '
                    'with isOAuth = false')
    return None


def xmatters_config_validator(config, settings):
    url = config.get('configUrl')
    if not config['usesBasic'] or not url:
        return
    try:
        parse_js_url(url)
    except InvalidURL as e:
        raise ValueError('Error configuring xMatters action: unable to parse url: %s' % e)
    _allow_or_raise(settings, url, 'Error configuring xMatters action: ')


def xmatters_secrets_validator(secrets, settings):
    if not secrets.get('secretsUrl') and not secrets.get('user') and not secrets.get('password'):
        raise ValueError('Provide either secretsUrl link or user/password to authenticate')
    if secrets.get('secretsUrl'):
        if secrets.get('user') or secrets.get('password'):
            raise ValueError('Cannot use user/password for URL authentication. Provide valid secretsUrl or use '
                             'Basic Authentication.')
        _js_url_or_raise(secrets['secretsUrl'], 'Invalid secretsUrl: %s')
        _allow_or_raise(settings, secrets['secretsUrl'], '')
    elif not secrets.get('user') or not secrets.get('password'):
        raise ValueError('Both user and password must be specified.')


def xmatters_connector(config, secrets):
    if config.get('usesBasic'):
        if secrets.get('secretsUrl'):
            return 'secretsUrl should not be provided when usesBasic is true'
        if secrets.get('user') is None:
            return 'Provide valid Username'
        if secrets.get('password') is None:
            return 'Provide valid Password'
        if config.get('configUrl') is None:
            return 'Provide valid configUrl'
    else:
        if secrets.get('user') or secrets.get('password'):
            return 'Username and password should not be provided when usesBasic is false'
        if config.get('configUrl'):
            return 'configUrl should not be provided when usesBasic is false'
        if secrets.get('secretsUrl') is None:
            return 'Provide valid secretsUrl with API Key'
    return None


SWIMLANE_MAPPING = s.nullable(s.obj(dict([('id', s.string()), ('key', s.string()), ('name', s.string()),
                                          ('fieldType', s.string())])))
SWIMLANE_CONFIG = s.obj(dict([
    ('apiUrl', s.string()), ('appId', s.string()),
    ('connectorType', s.enum(['all', 'alerts', 'cases'])),
    ('mappings', s.obj(dict((k, SWIMLANE_MAPPING) for k in (
        'ruleNameConfig', 'alertIdConfig', 'caseIdConfig', 'caseNameConfig', 'commentsConfig',
        'severityConfig', 'descriptionConfig')))),
]))


def gemini_secrets_validator(secrets, settings):
    """Gemini credentials check (§5), from versions.FACTS['gemini_credential_type_check'] (9.3): the
    Terraform data set has ``credentialsJson: secret1`` accepted by earlier releases."""
    if not settings.has('gemini_credential_type_check'):
        return
    prefix = 'Error configuring Google Gemini secrets: Error: '
    if not secrets.get('credentialsJson'):
        raise ValueError(prefix + 'Google Service Account credentials JSON is required.')
    try:
        credentials = json.loads(secrets['credentialsJson'])
    except ValueError:
        raise ValueError(prefix + 'Invalid JSON format for credentials.')
    kind = credentials.get('type') if isinstance(credentials, dict) else None
    if kind != 'service_account':
        raise ValueError(prefix + 'Invalid credential type. Only "service_account" credentials are supported. '
                         'Type was "%s".' % ('undefined' if kind is None else kind))


def inference_config(settings):
    """§5 .inference; contextWindowLength (9.2, PR #230005) and temperature (9.3) as for the other GenAI types."""
    props = [('provider', s.string()), ('taskType', s.string()), ('inferenceId', s.string()),
             ('providerConfig', s.record(s.any_value(), default={})),
             ('taskTypeConfig', s.record(s.any_value(), default={}))]
    if settings.has('context_window_length'):
        props.append(('contextWindowLength', s.maybe(s.number())))
    props.append(('headers', s.maybe(s.record(s.string()))))
    if settings.has('temperature'):
        props.append(('temperature', s.maybe(s.number())))
    return s.obj(dict(props))


def _o(*pairs, **kw):
    return s.obj(dict(pairs), **kw)


def _build():
    # Licences: .gen-ai enterprise (§4); .slack/.email/.pagerduty gold and .servicenow* platinum match the
    # basic-licence 403 tests (§1.1, §5); .webhook gold from its source; the others are UNVERIFIED (§9).
    # Feature ids other than the GenAI ones are plausible groupings, also UNVERIFIED.
    notif = [ALERTING, UPTIME, SIEM]
    itsm = [ALERTING, CASES, UPTIME, SIEM]
    types = [
        ConnectorType('.gen-ai', 'OpenAI', 'enterprise', GENAI, genai_config, genai_secrets,
                      genai_config_validator, genai_secrets_validator),
        ConnectorType('.bedrock', 'Amazon Bedrock', 'enterprise', GENAI,
                      lambda st: _o(('apiUrl', s.string()), ('defaultModel', s.string(default=DEFAULT_BEDROCK_MODEL)),
                                    *ai_tail(st)),
                      _o(('accessKey', s.string()), ('secret', s.string())),
                      genai_style_config_validator('Amazon Bedrock')),
        ConnectorType('.gemini', 'Google Gemini', 'enterprise', GENAI,
                      lambda st: _o(('apiUrl', s.string()), ('defaultModel', s.string(default=DEFAULT_GEMINI_MODEL)),
                                    ('gcpRegion', s.string()), ('gcpProjectID', s.string()), *ai_tail(st)),
                      _o(('credentialsJson', s.string())),
                      genai_style_config_validator('Google Gemini'), gemini_secrets_validator),
        ConnectorType('.inference', 'AI Connector', 'enterprise', GENAI,
                      inference_config,
                      _o(('providerSecrets', s.record(s.any_value(), default={})))),
        ConnectorType('.webhook', 'Webhook', 'gold', notif, webhook_config, webhook_secrets, webhook_config_validator),
        ConnectorType('.cases-webhook', 'Webhook - Case Management', 'gold', itsm, cases_webhook_config,
                      cases_webhook_secrets, cases_webhook_config_validator,
                      connector_validator=cases_webhook_connector),
        ConnectorType('.slack', 'Slack', 'gold', notif, empty(), _o(('webhookUrl', s.string())),
                      secrets_validator=webhook_url_secrets_validator('slack')),
        ConnectorType('.slack_api', 'Slack API', 'gold', notif, slack_api_config,
                      _o(('token', s.string(min_length=1)))),
        ConnectorType('.teams', 'Microsoft Teams', 'gold', notif, empty(), _o(('webhookUrl', s.string())),
                      secrets_validator=webhook_url_secrets_validator('teams')),
        ConnectorType('.email', 'Email', 'gold', notif, email_config,
                      _o(*[(k, s.nullable(s.string())) for k in ('user', 'password', 'clientSecret')]),
                      email_config_validator, connector_validator=email_connector),
        ConnectorType('.index', 'Index', 'basic', [ALERTING, UPTIME, SIEM],
                      _o(('index', s.string()), ('refresh', s.boolean(default=False)),
                         ('executionTimeField', s.nullable(s.string()))), empty()),
        ConnectorType('.server-log', 'Server log', 'basic', [ALERTING, UPTIME], empty(), empty()),
        ConnectorType('.pagerduty', 'PagerDuty', 'gold', notif, _o(('apiUrl', s.nullable(s.string()))),
                      _o(('routingKey', s.string())), pagerduty_config_validator),
        ConnectorType('.jira', 'Jira', 'gold', itsm, _o(('apiUrl', s.string()), ('projectKey', s.string())),
                      _o(('email', s.string()), ('apiToken', s.string())), cases_allow_list),
        ConnectorType('.servicenow', 'ServiceNow ITSM', 'platinum', itsm, servicenow_config(True),
                      SERVICENOW_SECRETS, cases_allow_list, connector_validator=servicenow_connector),
        ConnectorType('.servicenow-sir', 'ServiceNow SecOps', 'platinum', itsm, servicenow_config(True),
                      SERVICENOW_SECRETS, cases_allow_list, connector_validator=servicenow_connector),
        ConnectorType('.servicenow-itom', 'ServiceNow ITOM', 'platinum', [ALERTING, SIEM], servicenow_config(False),
                      SERVICENOW_SECRETS, cases_allow_list, connector_validator=servicenow_connector),
        ConnectorType('.opsgenie', 'Opsgenie', 'platinum', notif, _o(('apiUrl', s.string())),
                      _o(('apiKey', s.string())), url_allow_list_validator('apiUrl')),
        ConnectorType('.xmatters', 'xMatters', 'gold', [ALERTING, SIEM],
                      _o(('configUrl', s.nullable(s.string())), ('usesBasic', s.boolean(default=True))),
                      _o(*[(k, s.nullable(s.string())) for k in ('user', 'password', 'secretsUrl')]),
                      xmatters_config_validator, xmatters_secrets_validator, xmatters_connector),
        ConnectorType('.tines', 'Tines', 'gold', [ALERTING, SIEM], _o(('url', s.string())),
                      _o(('email', s.string()), ('token', s.string())), url_allow_list_validator('url')),
        ConnectorType('.torq', 'Torq', 'gold', [ALERTING, SIEM], _o(('webhookIntegrationUrl', s.string())),
                      _o(('token', s.string())), torq_config_validator),
        ConnectorType('.swimlane', 'Swimlane', 'gold', itsm, SWIMLANE_CONFIG, _o(('apiToken', s.string())),
                      cases_allow_list),
        ConnectorType('.resilient', 'IBM Resilient', 'platinum', itsm,
                      _o(('apiUrl', s.string()), ('orgId', s.string())),
                      _o(('apiKeyId', s.string()), ('apiKeySecret', s.string())), cases_allow_list),
        ConnectorType('.d3security', 'D3 Security', 'gold', [ALERTING, SIEM], _o(('url', s.string())),
                      _o(('token', s.string())), url_allow_list_validator('url')),
        # Field sets from Kibana's stack_connectors source (common/thehive/schema.ts,
        # common/xsoar/schema.ts, jira-service-management/schema.ts); licences are guesses.
        ConnectorType('.thehive', 'TheHive', 'platinum', [ALERTING, CASES, SIEM],
                      _o(('url', s.string()), ('organisation', s.nullable(s.string()))),
                      _o(('apiKey', s.string())), url_allow_list_validator('url')),
        ConnectorType('.xsoar', 'XSOAR', 'platinum', [ALERTING, SIEM], _o(('url', s.string())),
                      _o(('apiKey', s.string()), ('apiKeyID', s.nullable(s.string()))), url_allow_list_validator('url')),
        ConnectorType('.jira-service-management', 'Jira Service Management', 'platinum', notif,
                      _o(('apiUrl', s.string())), _o(('apiKey', s.string())), url_allow_list_validator('apiUrl')),
        # System action type (§1.1 step 3); its in-memory connector id is system-connector-.cases.
        ConnectorType('.cases', 'Cases', 'platinum', [ALERTING], empty(), empty(), system=True),
    ]
    return dict((t.id, t) for t in types)


REGISTRY = _build()
SYSTEM_CONNECTORS = {'system-connector-.cases': '.cases'}


def get(type_id, settings=None):
    """The type, if the Kibana version in ``settings`` offers it (versions.FACTS per type id)."""
    ctype = REGISTRY.get(type_id)
    if ctype is not None and settings is not None and not settings.kibana.offers_type(type_id):
        return None
    return ctype


def offered(settings):
    return [t for t in REGISTRY.values() if settings.kibana.offers_type(t.id)]


def is_deprecated(type_id, config):
    """§2.1 is_connector_deprecated: ServiceNow ITSM/SecOps using the table API (or config without the key)."""
    if type_id not in ('.servicenow', '.servicenow-sir'):
        return False
    if not isinstance(config, dict) or 'usesTableApi' not in config:
        return True
    return bool(config['usesTableApi'])

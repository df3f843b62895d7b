# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connector specs -> the ``xpack.actions`` settings of kibana.yml. Pure: no I/O.

What is rendered (reference §6, x-pack/platform/plugins/shared/actions/server/config.ts):
* ``xpack.actions.preconfigured``: every present spec marked ``kibana_yml.preconfigured: true``, keyed by its
  ``connector_id``, with ``name``, ``actionTypeId``, ``exposeConfig`` (when true), ``config`` and ``secrets``.
  Secret values are never written: each becomes a ``${VAR}`` reference that Kibana resolves from its
  environment when it reads kibana.yml; ``environment`` holds the values for the service's environment file.
* ``xpack.actions.customHostSettings``: one entry per host for specs with ``kibana_yml.custom_host``
  (``url`` = scheme://host:port of the spec's URL, ``ssl.verificationMode``, ``ssl.certificateAuthoritiesFiles``,
  ``ssl.certificateAuthoritiesData``).
* ``xpack.actions.allowedHosts`` (only when asked): the host names of every present spec's URLs, plus extras.

Validation comes first and reports every problem, each naming the spec (file, document, connector): the spec
validation of spec.py, then the rules Kibana applies to these settings (preconfigured ids: not empty,
``__proto__`` or ``constructor``, and without dots, which Kibana's config loader splits into nested keys;
unique across spaces, since a preconfigured connector shows in every space, and not also managed through the
API; customHostSettings only for TLS hosts, one entry per host).
"""
from __future__ import annotations

import copy
import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec as spec_rules

INVALID_PRECONFIGURED_IDS = ('', '__proto__', 'constructor')
URL_CONFIG_FIELDS = ('apiUrl', 'url', 'configUrl', 'createIncidentUrl', 'getIncidentUrl', 'updateIncidentUrl',
                     'createCommentUrl', 'viewIncidentUrl', 'webhookIntegrationUrl', 'accessTokenUrl',
                     'oauthTokenUrl')
URL_SECRET_FIELDS = ('webhookUrl', 'secretsUrl')
DEFAULT_PORTS = {'https': 443, 'http': 80, 'smtp': 25}
ENV_NAME = re.compile(r'^\w+$')


class Rendered(object):
    def __init__(self, settings, environment, errors, warnings):
        self.settings = settings
        self.environment = environment
        self.errors = errors
        self.warnings = warnings

    @property
    def ok(self):
        return not self.errors

    def error_text(self):
        return '\n'.join(spec_rules.format_problem(p) for p in self.errors)


def env_name(prefix, connector_id, path):
    """The environment variable a secret of a preconfigured connector is read from."""
    slug = re.sub(r'[^0-9A-Za-z]+', '_', '%s_%s' % (connector_id, '_'.join(path))).strip('_').upper()
    return (prefix or '') + slug


def _problem(source, spec, path, message, hint=None):
    problem = {'file': source.get('file'), 'document': source.get('document'), 'connector':
               spec.get('connector_id') or spec.get('name'), 'path': path, 'message': message, 'hint': hint,
               'rule': None}
    if source.get('item') is not None:
        problem['item'] = source['item']
    return problem


def spec_urls(spec):
    """[(json pointer, url)] of the spec's URL fields (config and secret URLs; templated values skipped)."""
    urls = []
    for part, fields in (('config', URL_CONFIG_FIELDS), ('secrets', URL_SECRET_FIELDS)):
        values = spec.get(part) or {}
        for field in fields:
            value = values.get(field)
            if isinstance(value, str) and value.strip() and not spec_rules.templated(value):
                urls.append(('/%s/%s' % (part, field), value.strip()))
    return urls


def _hostname(url):
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _origin(url):
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    return '%s://%s:%s' % (parts.scheme, parts.hostname, port)


def _secret_refs(secrets, connector_id, prefix, environment, taken, path=()):
    """Secrets with every string leaf replaced by ``${VAR}``; the values go to `environment`."""
    if isinstance(secrets, dict):
        return dict((k, _secret_refs(v, connector_id, prefix, environment, taken, path + (str(k),)))
                    for k, v in secrets.items())
    if isinstance(secrets, list):
        return [_secret_refs(v, connector_id, prefix, environment, taken, path + (str(i),)) for i, v in enumerate(secrets)]
    if isinstance(secrets, str):
        name = env_name(prefix, connector_id, path)
        owner = taken.get(name)
        if owner is not None and owner != (connector_id, path):
            raise ValueError('secrets %s and %s of connectors %s and %s map to the same environment variable %s'
                             % ('.'.join(owner[1]), '.'.join(path), owner[0], connector_id, name))
        taken[name] = (connector_id, path)
        environment[name] = secrets
        return '${%s}' % name
    return secrets  # null, numbers, booleans: not secret material


def render(specs, sources=None, allowed_hosts=False, extra_allowed_hosts=(), env_prefix='KIBANA_ACTIONS_'):
    """-> Rendered(settings, environment, errors, warnings). Nothing is rendered when there is an error."""
    specs = list(specs or [])
    sources = list(sources or [])
    sources += [None] * (len(specs) - len(sources))
    report = spec_rules.validate_specs(specs, sources=sources)
    errors = list(report.errors)
    warnings = list(report.warnings)
    if env_prefix and not ENV_NAME.match(env_prefix):
        errors.append({'file': None, 'connector': None, 'path': None, 'rule': None, 'hint': None,
                       'message': 'env_prefix %r: Kibana only resolves ${VAR} names of letters, digits and _' % env_prefix})
    if errors:
        return Rendered({}, {}, errors, warnings)

    preconfigured, environment, taken = {}, {}, {}
    first_source = {}
    api_ids = {}
    hosts = {}
    allowed = set()
    for spec, source in zip(specs, sources):
        source = source or {}
        present = (spec.get('state') or 'present') == 'present'
        kibana_yml = spec.get('kibana_yml') or {}
        cid = spec.get('connector_id')
        if not present:
            continue
        if kibana_yml.get('preconfigured'):
            if not isinstance(cid, str) or cid.strip() in INVALID_PRECONFIGURED_IDS:
                errors.append(_problem(source, spec, '/connector_id', 'a preconfigured connector needs a connector_id '
                                       '(the key in xpack.actions.preconfigured); Kibana rejects "", "__proto__" '
                                       'and "constructor"'))
                continue
            if '.' in cid:
                errors.append(_problem(source, spec, '/connector_id', 'preconfigured connector id %r contains a dot: '
                                       "Kibana's config loader splits dotted keys, so it would not be one connector"
                                       % cid, hint='use - or _ instead'))
                continue
            if cid in first_source:
                errors.append(_problem(source, spec, '/connector_id', 'preconfigured connector id %r is used twice '
                                       '(first in %s): preconfigured connectors are in every space, so their ids must '
                                       'be unique across spaces' % (cid, first_source[cid])))
                continue
            if spec.get('pki'):
                errors.append(_problem(source, spec, '/pki', 'pki: is not read for preconfigured connectors (the '
                                       'settings are rendered without reading files)', hint='put the base64 values '
                                       'in secrets (certificateData, privateKeyData, caData), e.g. with the '
                                       'pem_b64encode filter'))
                continue
            first_source[cid] = _where(source, spec)
            try:
                secrets = _secret_refs(copy.deepcopy(spec.get('secrets') or {}), cid, env_prefix, environment, taken)
            except ValueError as exc:
                errors.append(_problem(source, spec, '/secrets', str(exc)))
                continue
            entry = {'name': spec['name'], 'actionTypeId': spec['connector_type_id']}
            if kibana_yml.get('expose_config'):
                entry['exposeConfig'] = True
            entry['config'] = copy.deepcopy(spec.get('config') or {})
            entry['secrets'] = secrets
            preconfigured[cid] = entry
        elif isinstance(cid, str):
            api_ids.setdefault(cid, _where(source, spec))
        urls = spec_urls(spec)
        for _pointer, url in urls:
            host = _hostname(url)
            if host:
                allowed.add(host)
        if spec.get('connector_type_id') == '.email' and isinstance((spec.get('config') or {}).get('host'), str):
            allowed.add(spec['config']['host'])
        custom = kibana_yml.get('custom_host')
        if custom is not None:
            _custom_host(spec, source, custom, urls, hosts, errors)
    for cid, where in api_ids.items():
        if cid in preconfigured:
            errors.append({'file': None, 'connector': cid, 'path': '/connector_id', 'rule': None, 'hint': None,
                           'message': 'connector_id %r is preconfigured (%s) and also managed through the API (%s): '
                                      'Kibana refuses an API connector with a preconfigured id' % (cid, first_source[cid], where)})
    if errors:
        return Rendered({}, {}, errors, warnings)
    settings = {}
    if preconfigured:
        settings['xpack.actions.preconfigured'] = preconfigured
    if hosts:
        settings['xpack.actions.customHostSettings'] = [dict(entry, url=url) for url, (entry, _w) in sorted(hosts.items())]
    if allowed_hosts:
        extra = [h for h in (extra_allowed_hosts or []) if h]
        settings['xpack.actions.allowedHosts'] = ['*'] if '*' in extra else sorted(allowed | set(extra))
    return Rendered(settings, environment, errors, warnings)


def _where(source, spec):
    if source.get('file'):
        return '%s document %s' % (source['file'], source.get('document', 0))
    return 'connector %s' % (spec.get('connector_id') or spec.get('name'))


def _custom_host(spec, source, custom, urls, hosts, errors):
    tls_urls = [(p, u) for p, u in urls if urlsplit(u).scheme in ('https', 'smtp')]
    if not tls_urls:
        errors.append(_problem(source, spec, '/kibana_yml/custom_host', 'custom_host needs an https:// (or smtp://) '
                               'URL in the spec: customHostSettings carry TLS settings for a host'))
        return
    ssl = {}
    mode = custom.get('verification_mode') or (spec.get('config') or {}).get('verificationMode') or 'full'
    ssl['verificationMode'] = mode
    if custom.get('certificate_authorities_files'):
        ssl['certificateAuthoritiesFiles'] = list(custom['certificate_authorities_files'])
    if custom.get('certificate_authorities_data'):
        if '-----BEGIN CERTIFICATE-----' not in custom['certificate_authorities_data']:
            errors.append(_problem(source, spec, '/kibana_yml/custom_host/certificate_authorities_data',
                                   'must be PEM text (-----BEGIN CERTIFICATE-----)'))
            return
        ssl['certificateAuthoritiesData'] = custom['certificate_authorities_data']
    for _pointer, url in tls_urls:
        origin = _origin(url)
        entry = {'ssl': ssl}
        known = hosts.get(origin)
        if known is not None and known[0] != entry:
            errors.append(_problem(source, spec, '/kibana_yml/custom_host', 'customHostSettings for %s differ from '
                                   'those of %s: Kibana takes one entry per host' % (origin, known[1])))
            continue
        hosts[origin] = (entry, _where(source, spec))


def yaml_conflicts(existing, settings):
    """Keys of `settings` that an existing kibana.yml (parsed, outside the managed block) already sets.

    kibana.yml may write a setting flat (``xpack.actions.allowedHosts``), nested, or half-nested; a key
    set twice is an error (js-yaml rejects duplicate keys, and nested forms would silently merge).
    """
    flat = set()

    def walk(value, prefix):
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, '%s.%s' % (prefix, key) if prefix else str(key))
        else:
            flat.add(prefix)
    walk(existing or {}, '')
    conflicts = []
    for key in settings:
        if any(k == key or k.startswith(key + '.') for k in flat):
            conflicts.append(key)
    return sorted(conflicts)

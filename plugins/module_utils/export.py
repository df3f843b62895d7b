# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn live connectors into spec files (brownfield adoption). Pure: no I/O.

Kibana never returns secrets, so an exported spec carries placeholders that name a variable to
fill in (a vault variable, typically); applying the files back with them filled in is a no-op.
"""
from __future__ import annotations

import re

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - ansible-core itself needs PyYAML on the controller
    HAS_YAML = False

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import schemas
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.spec import credential_header

SECRET_PLACEHOLDER = '{{ %s }}'


def secret_variable(connector_id, field):
    """The variable name an exported placeholder refers to, e.g. vault_local_llm_apikey."""
    slug = re.sub(r'[^0-9a-zA-Z]+', '_', '%s_%s' % (connector_id, field)).strip('_').lower()
    return 'vault_%s' % slug


def _secret_fields(type_id):
    """(fields the type needs, every field it can take) according to the secrets schema."""
    schema = schemas.secrets_schema(type_id) or {}
    every = sorted((schema.get('properties') or {}).keys())
    needed = list(schema.get('required') or [])
    branches = schema.get('oneOf') or schema.get('anyOf') or []
    if not needed and branches:
        needed = list(branches[0].get('required') or [])
    return needed, every


def exportable(connector):
    return not connector.get('is_preconfigured') and not connector.get('is_system_action')


def spec_from_connector(connector, space_id):
    """A spec that describes the live connector; secrets as placeholders (see secret_variable)."""
    needed, _every = _secret_fields(connector.get('connector_type_id'))
    spec = {'connector_id': connector['id'], 'name': connector.get('name'),
            'connector_type_id': connector.get('connector_type_id'), 'space_id': space_id,
            'config': dict(connector.get('config') or {})}
    if needed:
        spec['secrets'] = dict((f, SECRET_PLACEHOLDER % secret_variable(connector['id'], f)) for f in needed)
    headers = spec['config'].get('headers')
    if isinstance(headers, dict):
        # a credential Kibana keeps in plain config must not be written into git: a placeholder instead
        spec['config']['headers'] = dict(
            (k, SECRET_PLACEHOLDER % header_variable(connector['id'], k) if credential_header(k) and v else v)
            for k, v in headers.items())
    return spec


def header_variable(connector_id, header):
    """The variable an exported credential header value refers to, e.g. vault_hook_header_authorization."""
    return secret_variable(connector_id, 'header_%s' % header)


def _placeholder_variables(spec):
    variables = [secret_variable(spec['connector_id'], f) for f in spec.get('secrets') or {}]
    headers = (spec.get('config') or {}).get('headers')
    if isinstance(headers, dict):
        variables += [header_variable(spec['connector_id'], k) for k, v in headers.items()
                      if v == SECRET_PLACEHOLDER % header_variable(spec['connector_id'], k)]
    return sorted(variables)


def spec_file_text(spec, schema_url=None):
    """YAML text of one exported spec, with a header that says what to fill in."""
    _needed, every = _secret_fields(spec.get('connector_type_id'))
    lines = []
    if schema_url:
        lines.append('# yaml-language-server: $schema=%s' % schema_url)
    lines.append('# Exported from Kibana by kibana_gitops.connectors.connector_info.')
    if _placeholder_variables(spec):
        lines.append('# Kibana never returns secrets: define %s (e.g. with ansible-vault) before applying.'
                     % ', '.join(_placeholder_variables(spec)))
    elif every:
        lines.append('# Kibana never returns secrets: add the ones this connector uses (%s) under secrets:.'
                     % ', '.join(every))
    body = yaml.safe_dump(spec, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)
    return '\n'.join(lines) + '\n---\n' + body


def file_name(connector_id):
    return re.sub(r'[^0-9A-Za-z._-]+', '_', connector_id) + '.yml'

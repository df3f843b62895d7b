# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn live connectors into spec files (brownfield adoption). Pure: no I/O.

Kibana never returns secrets, so an exported spec carries placeholders that name a variable to
fill in (a vault variable, typically); applying the files back with them filled in is a no-op.

Everything else in an exported file came from Kibana and is data: every string (value or key) that
holds a Jinja delimiter (``{{``, ``{%``, ``{#``) is written with Ansible's ``!unsafe`` tag, so loading
the file never evaluates it (a name such as ``{{ lookup('pipe', 'id') }}`` made in Kibana's UI, or
Kibana's own mustache ``{{{case.title}}}`` in a .cases-webhook body). Only the secret placeholders
written here are plain Jinja. File names are a reversible encoding of the connector id (file_name).
"""
from __future__ import annotations

import hashlib
import re

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - ansible-core itself needs PyYAML on the controller
    HAS_YAML = False

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import schemas
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.spec import credential_header

JINJA_DELIMITERS = ('{{', '{%', '{#')
UNSAFE_TAG = '!unsafe'


def needs_unsafe(value):
    """True for a string that Ansible's Templar would treat as a template."""
    return isinstance(value, str) and any(d in value for d in JINJA_DELIMITERS)


class _Placeholder(str):
    """A secret placeholder written by export: the one kind of string that stays plain Jinja."""


if HAS_YAML:
    class _ExportDumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
        """safe_dump, with strings that hold Jinja delimiters tagged !unsafe (placeholders excepted)."""

    def _represent_str(dumper, value):
        if needs_unsafe(value) and not isinstance(value, _Placeholder):
            style = '|' if '\n' in value else "'"
            return dumper.represent_scalar(UNSAFE_TAG, str(value), style=style)
        return dumper.represent_str(str(value))

    _ExportDumper.add_representer(str, _represent_str)
    _ExportDumper.add_representer(_Placeholder, _represent_str)


SECRET_PLACEHOLDER = '{{ %s }}'


def placeholder(variable):
    """The placeholder text for a variable, marked so that spec_file_text writes it as plain Jinja (every other
    string with Jinja delimiters is written !unsafe). Every placeholder export writes must come from here."""
    return _Placeholder(SECRET_PLACEHOLDER % variable)


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
        spec['secrets'] = dict((f, placeholder(secret_variable(connector['id'], f))) for f in needed)
    headers = spec['config'].get('headers')
    if isinstance(headers, dict):
        # a credential Kibana keeps in plain config must not be written into git: a placeholder instead
        spec['config']['headers'] = dict(
            (k, placeholder(header_variable(connector['id'], k)) if credential_header(k) and v else v)
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
    body = yaml.dump(spec, Dumper=_ExportDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)
    return '\n'.join(lines) + '\n---\n' + body


# Characters kept as they are in a file name; every other byte of the id is written as %XX (like a URL path
# segment), and so is a leading '.', so the name is unique per id, never a dotfile the loader skips, never
# a path separator, and decodes back to the id (urllib's unquote, less the '.yml').
_NAME_SAFE = re.compile(r'[0-9A-Za-z_-]')
_MAX_NAME_BYTES = 200  # file systems allow 255; longer names end in a hash of the id


def file_name(connector_id):
    """The export file name of a connector id: a/b -> a%2Fb.yml, a b -> a%20b.yml, a_b -> a_b.yml,
    .hidden -> %2Ehidden.yml. Distinct ids give distinct names (on a case-insensitive file system, ids that
    differ only in case share a file: the writer refuses to overwrite a file that holds another connector)."""
    out = []
    for index, char in enumerate(connector_id):
        if _NAME_SAFE.match(char) or (char == '.' and index > 0):
            out.append(char)
        else:
            out.extend('%%%02X' % b for b in char.encode('utf-8'))
    name = ''.join(out)
    if len(name.encode('utf-8')) > _MAX_NAME_BYTES:
        name = name[:_MAX_NAME_BYTES - 17] + '~' + hashlib.sha256(connector_id.encode('utf-8')).hexdigest()[:16]
    return name + '.yml'

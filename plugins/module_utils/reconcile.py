# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planning: a desired connector spec and the live connector -> what to do.

No I/O. The comparison is the heart of idempotence: Kibana answers with the *validated* config,
server-side defaults filled in (``defaultModel``, webhook ``method``, email ``service`` …), so
the desired config gets the same defaults before it is compared (reference §2.1). Fields the
schema does not know (added by a newer Kibana) are ignored; fields it knows are compared, so
drift made out of band is seen. Secrets are never returned by Kibana and never compared.
"""
from __future__ import annotations

import copy

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import schemas

REDACTED = '<secret: not shown>'
CREATE, UPDATE, DELETE, UNCHANGED = 'create', 'update', 'delete', 'unchanged'


class PlanError(Exception):
    """The spec cannot be reconciled with what is in Kibana (e.g. a type change)."""


class Plan(object):
    """What one connector needs. ``before``/``after`` are redacted, ready for Ansible's diff."""

    def __init__(self, action, connector_id, before, after, changes=()):
        self.action = action
        self.connector_id = connector_id
        self.before = before
        self.after = after
        self.changes = list(changes)

    @property
    def changed(self):
        return self.action != UNCHANGED

    def diff(self):
        return {'before': self.before, 'after': self.after}

    def __repr__(self):
        return 'Plan(%s, %s, changes=%s)' % (self.action, self.connector_id, self.changes)


# ------------------------------------------------------------------ schema-driven normalisation
def _config_branch(type_id, config, kibana_version=None):
    """The (sub)schema that describes this config: for a union, the branch its discriminator picks."""
    schema = schemas.config_schema(type_id, kibana_version)
    if not schema:
        return None
    branches = schema.get('oneOf') or schema.get('anyOf')
    if not branches:
        return schema
    for branch in branches:
        props = branch.get('properties', {})
        consts = dict((k, p['const']) for k, p in props.items() if isinstance(p, dict) and 'const' in p)
        if consts and all((config or {}).get(k) == v for k, v in consts.items()):
            return branch
    return None


def with_server_defaults(type_id, config, kibana_version=None):
    """The config as Kibana ``kibana_version`` (default: the newest known) will return it: the schema's
    defaults of that release filled in for absent keys."""
    result = copy.deepcopy(config or {})
    branch = _config_branch(type_id, result, kibana_version)
    for key, prop in ((branch or {}).get('properties') or {}).items():
        if key not in result and isinstance(prop, dict) and 'default' in prop:
            result[key] = copy.deepcopy(prop['default'])
    return result


def _unknown_defaults(type_id, config, kibana_version=None):
    """Fields Kibana fills with a default the version table does not record for this release."""
    branch = _config_branch(type_id, config, kibana_version) or {}
    return set(k for k, p in (branch.get('properties') or {}).items()
               if isinstance(p, dict) and p.get('x-server-default') == 'unknown')


def _known_keys(type_id, config, kibana_version=None):
    branch = _config_branch(type_id, config, kibana_version)
    if branch is None:
        return None
    return set((branch.get('properties') or {}).keys())


def _same(desired, live):
    if desired is None or live is None:
        return desired is None and live is None
    if isinstance(desired, bool) or isinstance(live, bool):
        return type(desired) is type(live) and desired == live
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return float(desired) == float(live)
    if (isinstance(desired, (int, float)) and isinstance(live, str)) or (isinstance(live, (int, float)) and isinstance(desired, str)):
        # Kibana coerces numeric strings (port: "587" is stored as 587)
        try:
            return float(desired) == float(live)
        except ValueError:
            return False
    if isinstance(desired, dict) and isinstance(live, dict):
        keys = set(desired) | set(live)
        return all(_same(desired.get(k), live.get(k)) for k in keys)
    if isinstance(desired, list) and isinstance(live, list):
        return len(desired) == len(live) and all(_same(d, v) for d, v in zip(desired, live))
    return desired == live


def config_changes(type_id, desired_config, live_config, kibana_version=None):
    """Names of the config fields whose desired value differs from the live one.

    A field the spec omits whose server default the version table does not know for this release is
    not compared: whatever Kibana stored is its default (no perpetual diff on an unrecorded release).
    """
    desired = with_server_defaults(type_id, desired_config, kibana_version)
    live = live_config or {}
    known = _known_keys(type_id, desired, kibana_version)
    keys = set(desired) | (set(live) if known is None else (set(live) & known))
    keys -= set(k for k in _unknown_defaults(type_id, desired, kibana_version) if k not in desired)
    return sorted(k for k in keys if not _same(desired.get(k), live.get(k)))


# ------------------------------------------------------------------ views for diff and results
def redact_secrets(secrets):
    return dict((k, REDACTED) for k in sorted(secrets or {}))


def live_view(live):
    """The parts of a live connector that a spec describes (for diffs and results)."""
    if not live:
        return {}
    view = {'connector_id': live.get('id'), 'name': live.get('name'),
            'connector_type_id': live.get('connector_type_id')}
    if 'config' in live:
        view['config'] = copy.deepcopy(live.get('config'))
    return view


def desired_view(spec, live=None, kibana_version=None):
    type_id = spec.get('connector_type_id')
    view = {'connector_id': spec.get('connector_id') or (live or {}).get('id'), 'name': spec.get('name'),
            'connector_type_id': type_id,
            'config': with_server_defaults(type_id, spec.get('config'), kibana_version)}
    if live and live.get('config') is not None:
        # keep live fields this collection does not know about (or whose default it does not know for
        # this release), so the diff shows only real changes
        known = _known_keys(type_id, view['config'], kibana_version)
        unknown = _unknown_defaults(type_id, view['config'], kibana_version)
        if known is not None:
            for key, value in live['config'].items():
                if (key not in known or key in unknown) and key not in view['config']:
                    view['config'][key] = copy.deepcopy(value)
    return view


# ------------------------------------------------------------------ planning
def plan_connector(spec, live, secrets_update='on_create', kibana_version=None):
    """Plan one connector. ``spec`` is a normalised spec (state, name, type, config, secrets);
    ``kibana_version`` picks that release's server defaults (default: the newest known)."""
    state = spec.get('state') or 'present'
    connector_id = spec.get('connector_id') or (live or {}).get('id')
    if live and live.get('is_preconfigured'):
        if state == 'absent':
            raise PlanError('connector %s is preconfigured in kibana.yml and cannot be deleted through the API; '
                            'remove it from xpack.actions.preconfigured instead' % live.get('id'))
        raise PlanError('connector %s is preconfigured in kibana.yml and cannot be updated through the API; '
                        'change it in xpack.actions.preconfigured, or give this spec another connector_id'
                        % live.get('id'))

    if state == 'absent':
        if not live:
            return Plan(UNCHANGED, connector_id, {}, {})
        return Plan(DELETE, connector_id, live_view(live), {}, ['connector'])

    type_id = spec.get('connector_type_id')
    if not live:
        after = desired_view(spec, kibana_version=kibana_version)
        if spec.get('secrets'):
            after['secrets'] = redact_secrets(spec.get('secrets'))
        return Plan(CREATE, connector_id, {}, after, ['connector'])

    if live.get('connector_type_id') != type_id:
        raise PlanError('connector %s is of type %s in Kibana but the spec says %s; Kibana cannot change a '
                        "connector's type: delete it first (state: absent) or use another connector_id"
                        % (live.get('id'), live.get('connector_type_id'), type_id))
    changes = []
    if spec.get('name') != live.get('name'):
        changes.append('name')
    changes += ['config.%s' % k for k in config_changes(type_id, spec.get('config'), live.get('config'),
                                                        kibana_version)]
    before, after = live_view(live), desired_view(spec, live, kibana_version)
    if secrets_update == 'always' and spec.get('secrets'):
        changes.append('secrets')
        before['secrets'] = dict((k, '<unknown: Kibana never returns secrets>') for k in sorted(spec['secrets']))
        after['secrets'] = redact_secrets(spec['secrets'])
    if not changes:
        return Plan(UNCHANGED, connector_id, before, before)
    return Plan(UPDATE, connector_id, before, after, changes)


def secrets_required(type_id):
    """Does Kibana reject this type's connector when the secrets are empty?"""
    schema = schemas.secrets_schema(type_id) or {}
    if schema.get('required'):
        return True
    branches = schema.get('oneOf') or schema.get('anyOf') or []
    return bool(branches) and all(b.get('required') for b in branches)


def request_body(spec, for_update=False):
    """The body Kibana's create / update route takes for this spec (update has no type)."""
    body = {'name': spec.get('name'), 'config': copy.deepcopy(spec.get('config') or {}),
            'secrets': copy.deepcopy(spec.get('secrets') or {})}
    if not for_update:
        body['connector_type_id'] = spec.get('connector_type_id')
    return body

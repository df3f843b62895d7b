"""State: connectors per space, preconfigured connectors, request statistics, the state file.

A connector is kept as Kibana's saved object would be: the validated config and secrets, the
type id, ``is_missing_secrets`` and, standing in for rules that use it, ``referenced_by_count``.
Saved objects are per space (§7), so the same id may exist in two spaces.
"""
import collections
import json
import os
import tempfile
import threading

import yaml

from . import kibana_yml

INVALID_PRECONFIGURED_IDS = ('', '__proto__', 'constructor')  # §6


class PreconfiguredError(Exception):
    pass


def load_preconfigured(path):
    """Read kibana.yml's ``xpack.actions.preconfigured`` (§6), flat or nested keys, or a bare map."""
    with open(path, encoding='utf-8') as f:
        try:
            doc = kibana_yml.resolve_env(yaml.safe_load(f) or {})  # ${VAR} references, as Kibana resolves them
        except kibana_yml.KibanaYmlError as e:
            raise PreconfiguredError(str(e))
    if 'xpack.actions.preconfigured' in doc:
        entries = doc['xpack.actions.preconfigured']
    elif isinstance(doc.get('xpack'), dict):
        entries = (doc['xpack'].get('actions') or {}).get('preconfigured') or {}
    elif 'xpack.actions' in doc:
        entries = (doc['xpack.actions'] or {}).get('preconfigured') or {}
    else:
        entries = doc
    result = collections.OrderedDict()
    for connector_id, entry in (entries or {}).items():
        connector_id = str(connector_id)
        if connector_id in INVALID_PRECONFIGURED_IDS:
            raise PreconfiguredError('invalid preconfigured action id "%s"' % connector_id)
        if not isinstance(entry, dict) or not entry.get('name') or not entry.get('actionTypeId'):
            raise PreconfiguredError('preconfigured action "%s" needs name and actionTypeId' % connector_id)
        result[connector_id] = {
            'id': connector_id,
            'name': str(entry['name']),
            'connector_type_id': entry['actionTypeId'],
            'expose_config': bool(entry.get('exposeConfig', False)),
            'config': entry.get('config') or {},
            'secrets': entry.get('secrets') or {},
        }
    return result


class Stats(object):
    """Counts for ``/_sim/stats`` (docs/internals.md); faults per kind as well."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.total = 0
        self.methods = collections.Counter()
        self.paths = collections.Counter()
        self.faults = collections.Counter()

    def count(self, method, path):
        with self.lock:
            self.total += 1
            self.methods[method] += 1
            self.paths['%s %s' % (method, path)] += 1

    def count_fault(self, kind):
        with self.lock:
            self.faults[kind] += 1

    def snapshot(self):
        with self.lock:
            return {'total': self.total, 'methods': dict(self.methods), 'paths': dict(self.paths),
                    'faults': dict(self.faults)}

    def clear(self):
        with self.lock:
            self.reset()


class Store(object):
    def __init__(self, preconfigured=None, state_file=None):
        self.lock = threading.RLock()
        self.spaces = {}
        self.preconfigured = preconfigured or collections.OrderedDict()
        self.state_file = state_file
        self.stats = Stats()
        if state_file and os.path.exists(state_file):
            self._load()

    # --- connectors (callers hold self.lock across a read-check-write sequence) ---
    def get(self, space, connector_id):
        return self.spaces.get(space, {}).get(connector_id)

    def put(self, space, record):
        self.spaces.setdefault(space, collections.OrderedDict())[record['id']] = record
        self._save()

    def delete(self, space, connector_id):
        self.spaces.get(space, {}).pop(connector_id, None)
        self._save()

    def in_space(self, space):
        return list(self.spaces.get(space, {}).values())

    def reset(self):
        with self.lock:
            self.spaces = {}
            self._save()
        self.stats.clear()

    # --- state file: loaded at start if present, rewritten after every write ---
    def _load(self):
        with open(self.state_file, encoding='utf-8') as f:
            data = json.load(f)
        for space, connectors in (data.get('spaces') or {}).items():
            self.spaces[space] = collections.OrderedDict((c['id'], c) for c in connectors)

    def _save(self):
        if not self.state_file:
            return
        data = {'spaces': dict((space, list(c.values())) for space, c in self.spaces.items())}
        folder = os.path.dirname(os.path.abspath(self.state_file))
        fd, tmp = tempfile.mkstemp(prefix='.kibana-sim-state-', dir=folder)
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.chmod(tmp, 0o600)  # it holds connector secrets
        os.replace(tmp, self.state_file)

"""The connectors API operations (§1), independent of HTTP: each returns (status, body) or raises KibanaError."""
import copy
import importlib
import importlib.util
import threading
import traceback
import uuid

from . import connector_types
from . import texts
from .validation import CREATE_BODY, EXECUTE_BODY, UPDATE_BODY, validate_body, validate_connector

STATUS_UUID = '5b2de169-2785-441b-ae8c-186a1936b17d'


def sort_key(item):
    # §2.2: names compared with localeCompare: case-insensitive first, lower case first on ties.
    return (item['name'].casefold(), item['name'].swapcase())


_EXECUTE = {}
_EXECUTE_LOCK = threading.Lock()


def load_execute_module():
    """execute.py is written separately; without it _execute answers a framework error (see execute()).

    Loaded once under a lock: concurrent first requests must not see a half-initialised module.
    """
    with _EXECUTE_LOCK:
        if 'module' not in _EXECUTE:
            name = __package__ + '.execute'
            _EXECUTE['module'] = importlib.import_module(name) if importlib.util.find_spec(name) else None
        return _EXECUTE['module']


class ConnectorsAPI(object):
    def __init__(self, store, settings, enabled_types=('*',)):
        self.store = store
        self.settings = settings
        self.enabled_types = list(enabled_types) or ['*']

    # --- shapes (§2.1, §2.4) ---
    def _flags(self, type_id, config, preconfigured):
        flags = {'is_preconfigured': preconfigured,
                 'is_deprecated': connector_types.is_deprecated(type_id, config),
                 'is_system_action': False}
        if self.settings.has('is_connector_type_deprecated'):
            flags['is_connector_type_deprecated'] = False  # §2.3 (versions.py)
        return flags

    def connector_response(self, record):
        body = {'id': record['id'], 'name': record['name'], 'config': copy.deepcopy(record['config']),
                'connector_type_id': record['connector_type_id'],
                'is_missing_secrets': record.get('is_missing_secrets', False)}
        body.update(self._flags(record['connector_type_id'], record['config'], False))
        return body

    def preconfigured_response(self, pc):
        # §2.1/§6: no config (unless exposeConfig) and no is_missing_secrets.
        body = {'id': pc['id'], 'name': pc['name'], 'connector_type_id': pc['connector_type_id']}
        if pc['expose_config']:
            body['config'] = copy.deepcopy(pc['config'])
        body.update(self._flags(pc['connector_type_id'], pc['config'], True))
        return body

    def type_enabled_in_config(self, type_id):
        return '*' in self.enabled_types or type_id in self.enabled_types

    # --- checks shared by the write routes ---
    def _registered_type(self, type_id):
        ctype = connector_types.get(type_id, self.settings)  # only the types this version offers
        if ctype is None:
            raise texts.type_not_registered(type_id)
        return ctype

    def _ensure_enabled(self, type_id):
        if not self.type_enabled_in_config(type_id):
            raise texts.type_not_enabled(type_id)

    # --- routes ---
    def create(self, space, connector_id, body):
        body = validate_body(CREATE_BODY, body)
        type_id = body['connector_type_id']
        ctype = connector_types.get(type_id, self.settings)
        # §1.1 steps 3-8, in Kibana's order.
        if (ctype is not None and ctype.system) or connector_id in connector_types.SYSTEM_CONNECTORS:
            raise texts.system_create_forbidden(type_id)
        if connector_id is not None and connector_id in self.store.preconfigured:
            raise texts.preconfigured_id_taken(connector_id)
        ctype = self._registered_type(type_id)
        config, secrets = validate_connector(ctype, body['config'], body['secrets'], self.settings)
        self._ensure_enabled(type_id)
        with self.store.lock:
            connector_id = connector_id if connector_id is not None else str(uuid.uuid4())
            if self.store.get(space, connector_id) is not None:
                raise texts.so_conflict(connector_id)
            record = {'id': connector_id, 'name': body['name'], 'connector_type_id': type_id, 'config': config,
                      'secrets': secrets, 'is_missing_secrets': False, 'referenced_by_count': 0}
            self.store.put(space, record)
        return 200, self.connector_response(record)

    def update(self, space, connector_id, body):
        body = validate_body(UPDATE_BODY, body)
        if connector_id in connector_types.SYSTEM_CONNECTORS:
            raise texts.system_update(connector_id)
        if connector_id in self.store.preconfigured:
            raise texts.preconfigured_update(connector_id)
        with self.store.lock:
            existing = self.store.get(space, connector_id)
            if existing is None:
                raise texts.so_not_found(connector_id)
            # Validated against the stored type; config and secrets are replaced, never merged (§1).
            ctype = self._registered_type(existing['connector_type_id'])
            config, secrets = validate_connector(ctype, body['config'], body['secrets'], self.settings)
            self._ensure_enabled(ctype.id)
            record = dict(existing, name=body['name'], config=config, secrets=secrets, is_missing_secrets=False)
            self.store.put(space, record)
        return 200, self.connector_response(record)

    def get(self, space, connector_id):
        if connector_id in connector_types.SYSTEM_CONNECTORS:
            raise texts.system_get(connector_id)
        if connector_id in self.store.preconfigured:
            return 200, self.with_auth_mode(self.preconfigured_response(self.store.preconfigured[connector_id]))
        record = self.store.get(space, connector_id)
        if record is None:
            raise texts.so_not_found(connector_id)
        return 200, self.with_auth_mode(self.connector_response(record))

    def with_auth_mode(self, body):
        """GET answers carry auth_mode on the newest Kibana only (§2.1; versions.FACTS['auth_mode_on_get'])."""
        if self.settings.has('auth_mode_on_get'):
            body['auth_mode'] = 'shared'
        return body

    def delete(self, space, connector_id):
        if connector_id in connector_types.SYSTEM_CONNECTORS:
            raise texts.system_delete(connector_id)
        if connector_id in self.store.preconfigured:
            raise texts.preconfigured_delete(connector_id)
        with self.store.lock:
            if self.store.get(space, connector_id) is None:
                raise texts.so_not_found(connector_id)
            self.store.delete(space, connector_id)  # even when the type is no longer registered (§7)
        return 204, None

    def list(self, space):
        items = []
        with self.store.lock:
            for record in self.store.in_space(space):
                item = self.connector_response(record)
                item['referenced_by_count'] = record.get('referenced_by_count', 0)
                items.append(item)
        for pc in self.store.preconfigured.values():
            item = self.preconfigured_response(pc)
            item['referenced_by_count'] = 0
            items.append(item)
        return 200, sorted(items, key=sort_key)

    def list_types(self, feature_id=None):
        result = []
        # The public route leaves system action types out (they cannot be created).
        for ctype in sorted(connector_types.offered(self.settings), key=lambda t: t.id):
            if ctype.system or (feature_id and feature_id not in ctype.features):
                continue
            in_config = self.type_enabled_in_config(ctype.id)
            item = {'id': ctype.id, 'name': ctype.name, 'enabled': in_config, 'enabled_in_config': in_config,
                    'enabled_in_license': True,  # the simulator runs with a trial licence
                    'minimum_license_required': ctype.license, 'supported_feature_ids': list(ctype.features),
                    'is_system_action_type': False}
            if self.settings.has('list_types_is_deprecated'):
                item['is_deprecated'] = False
            result.append(item)
        return 200, result

    def execute(self, space, connector_id, body):
        body = validate_body(EXECUTE_BODY, body)
        if connector_id in connector_types.SYSTEM_CONNECTORS:
            raise texts.SYSTEM_EXECUTE
        if connector_id in self.store.preconfigured:
            pc = self.store.preconfigured[connector_id]
            connector = {'id': pc['id'], 'name': pc['name'], 'connector_type_id': pc['connector_type_id'],
                         'config': copy.deepcopy(pc['config']), 'is_preconfigured': True}
            secrets = copy.deepcopy(pc['secrets'])
        else:
            with self.store.lock:
                record = self.store.get(space, connector_id)
                if record is None:
                    raise texts.so_not_found(connector_id)
                connector = {'id': record['id'], 'name': record['name'],
                             'connector_type_id': record['connector_type_id'],
                             'config': copy.deepcopy(record['config']), 'is_preconfigured': False}
                secrets = copy.deepcopy(record['secrets'])
        self._ensure_enabled(connector['connector_type_id'])
        module = load_execute_module()
        if module is None:
            return 200, {'status': 'error', 'connector_id': connector_id,
                         'message': 'an error occurred while running the action',
                         'service_message': '_execute not simulated for %s' % connector['connector_type_id'],
                         'retry': False, 'errorSource': 'framework'}
        run_settings = {'allowed_hosts': list(self.settings.allow_list.hosts),
                        'kibana_version': self.settings.version_text}
        try:
            return module.execute(connector, secrets, body['params'], run_settings)
        except Exception:  # noqa: BLE001 - a bug in execute.py must not kill the server thread
            traceback.print_exc()
            raise texts.KibanaError(500, 'An internal server error occurred.')

    def status(self):
        return 200, {
            'name': 'kibana-simulator',
            'uuid': STATUS_UUID,
            'version': {'number': self.settings.version_text, 'build_hash': '0' * 40, 'build_number': 1,
                        'build_snapshot': False, 'build_flavor': 'default', 'build_date': '2025-01-01T00:00:00.000Z'},
            'status': {'overall': {'level': 'available', 'summary': 'All services and plugins are available'},
                       'core': {'elasticsearch': {'level': 'available'}, 'savedObjects': {'level': 'available'}},
                       'plugins': {'actions': {'level': 'available'}}},
        }

"""Kibana's error envelope and fixed texts, in one place (reference §1, §1.1, §1.2, §6)."""

REASONS = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict',
    413: 'Request Entity Too Large', 429: 'Too Many Requests', 500: 'Internal Server Error',
    503: 'Service Unavailable',
}

# §0: CS-era prefixes (Kibana <= 9.2); the prefixes of each version come from versions.KibanaVersion.
# The connector-level prefix kept the old wording everywhere.
CONFIG_PREFIX = 'error validating action type config: '
SECRETS_PREFIX = 'error validating action type secrets: '
CONNECTOR_PREFIX = 'error validating action type connector: '


class KibanaError(Exception):
    """A Boom error: ``{"statusCode", "error", "message"}`` (§1.2)."""

    def __init__(self, status, message=None):
        super(KibanaError, self).__init__(message)
        self.status = status
        self.message = message if message is not None else REASONS.get(status, 'Error')

    def body(self):
        return {'statusCode': self.status, 'error': REASONS.get(self.status, 'Error'), 'message': self.message}


def bad_request(message):
    return KibanaError(400, message)


def so_not_found(connector_id):
    return KibanaError(404, 'Saved object [action/%s] not found' % connector_id)


def so_conflict(connector_id):
    # §1.1 step 8: saved-objects conflict text; UNVERIFIED for actions.
    return KibanaError(409, 'Saved object [action/%s] conflict' % connector_id)


UNAUTHORIZED = KibanaError(401, 'Unauthorized')  # §1.2: UNVERIFIED body text, as the brief fixes it
XSRF_MISSING = KibanaError(400, 'Request must contain a kbn-xsrf header.')
INVALID_JSON = KibanaError(400, 'Invalid request payload JSON format')
ROUTE_NOT_FOUND = KibanaError(404, 'Not Found')


def type_not_registered(type_id):
    return bad_request('Action type "%s" is not registered.' % type_id)


def type_not_enabled(type_id):
    return KibanaError(403, 'action type "%s" is not enabled in the Kibana config xpack.actions.enabledActionTypes' % type_id)


def system_create_forbidden(type_id):
    return bad_request('System action creation is forbidden. Action type: %s.' % type_id)


def preconfigured_id_taken(connector_id):
    return bad_request('This %s already exists in a preconfigured action.' % connector_id)


def preconfigured_update(connector_id):
    return bad_request('Preconfigured action %s can not be updated.' % connector_id)


def preconfigured_delete(connector_id):
    return bad_request('Preconfigured action %s is not allowed to delete.' % connector_id)


def system_update(connector_id):
    return bad_request('System action %s can not be updated.' % connector_id)


def system_delete(connector_id):
    return bad_request('System action %s is not allowed to delete.' % connector_id)


def system_get(connector_id):
    return KibanaError(404, 'Connector %s not found' % connector_id)


SYSTEM_EXECUTE = bad_request('Execution of system action is not allowed')

"""Request validation: the route body schemas (§1) and the per-type pipeline (§1.1 step 6)."""
from . import config_schema as s
from . import texts
from . import zod_texts


def empty_strings(value):
    """validateEmptyStrings (§1): any string that is empty after trim(), however deep. null passes."""
    if isinstance(value, str):
        return "value '' is not valid" if not value.strip() else None
    children = value if isinstance(value, list) else (value.values() if isinstance(value, dict) else ())
    for child in children:
        message = empty_strings(child)
        if message:
            return message
    return None


def _values_record():
    # config/secrets: recordOf(string, any({validate: validateEmptyStrings}), {defaultValue: {}})
    return s.record(s.any_value(validate=empty_strings), default={})


CREATE_BODY = s.obj(dict([
    ('name', s.string(validate=empty_strings)),
    ('connector_type_id', s.string(validate=empty_strings)),
    ('config', _values_record()),
    ('secrets', _values_record()),
]))
UPDATE_BODY = s.obj(dict([
    ('name', s.string(validate=empty_strings)),
    ('config', _values_record()),
    ('secrets', _values_record()),
]))
EXECUTE_BODY = s.obj({'params': s.record(s.any_value())})

ROUTE_PATH = ['request body']


def validate_body(schema, body):
    """Route validation: 400 with ``[request body.<path>]: <message>``; an empty body counts as ``{}``."""
    try:
        return schema.validate({} if body is s.MISSING else body, ROUTE_PATH)
    except s.SchemaError as e:
        raise texts.bad_request(str(e))


def _check(schema, value, settings):
    """The schema step in the era of the Kibana version: config-schema (first error) or zod (all issues)."""
    if not settings.kibana.zod:
        return schema.validate(value)
    result, issues = s.zparse(schema, value, settings.era)
    if issues:
        raise ValueError(zod_texts.format_issues(issues, settings.era))
    return result


def validate_connector(ctype, config, secrets, settings):
    """Type validation in Kibana's order: config schema + custom, secrets schema + custom, connector.

    Returns (validated config, validated secrets), which is what Kibana stores and returns. The texts
    and prefixes follow the era of ``settings`` (versions.py; reference §0).
    """
    kibana = settings.kibana
    try:
        valid_config = _check(ctype.config_schema(settings), config, settings)
        if ctype.config_validator:
            ctype.config_validator(valid_config, settings)
    except (s.SchemaError, ValueError) as e:
        raise texts.bad_request(kibana.config_prefix + str(e))
    try:
        valid_secrets = _check(ctype.secrets_schema(settings), secrets, settings)
        if ctype.secrets_validator:
            ctype.secrets_validator(valid_secrets, settings)
    except (s.SchemaError, ValueError) as e:
        raise texts.bad_request(kibana.secrets_prefix + str(e))
    if ctype.connector_validator:
        message = ctype.connector_validator(config, secrets)  # raw request values, as Kibana passes them
        if message:
            raise texts.bad_request(kibana.connector_prefix + message)
    return valid_config, valid_secrets

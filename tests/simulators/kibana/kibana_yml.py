"""kibana.yml as Kibana reads it, for ``--preconfigured``: ``${VAR}`` references and a few xpack.actions keys.

Kibana's config loader (``getConfigFromFiles``, src/core/packages/config or @kbn/config ``read_config.ts``)
replaces ``${VAR}`` (``/\\$\\{(\\w+)\\}/``) in every string with the process environment and refuses to start
on an unset one: ``Unknown environment variable referenced in config : VAR``. Newer releases also accept
``${VAR:default}``. Settings may be written flat (``xpack.actions.allowedHosts``) or nested.
"""
import os
import re

import yaml

ENV_REF = re.compile(r'\$\{(\w+)(?::([^}]*))?\}')


class KibanaYmlError(ValueError):
    pass


def resolve_env(value, env=None):
    """Every string of a parsed kibana.yml with ``${VAR}`` replaced, as Kibana does at start."""
    env = os.environ if env is None else env
    if isinstance(value, dict):
        return dict((k, resolve_env(v, env)) for k, v in value.items())
    if isinstance(value, list):
        return [resolve_env(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match):
        name, default = match.group(1), match.group(2)
        if env.get(name) is not None:
            return env[name]
        if default is not None:
            return default
        raise KibanaYmlError('Unknown environment variable referenced in config : %s' % name)
    return ENV_REF.sub(replace, value)


def setting(doc, dotted):
    """A setting of a parsed kibana.yml whether it is written flat, nested or half-nested (None if unset)."""
    if not isinstance(doc, dict):
        return None
    if dotted in doc:
        return doc[dotted]
    parts = dotted.split('.')
    for cut in range(1, len(parts)):
        head, rest = '.'.join(parts[:cut]), '.'.join(parts[cut:])
        if head in doc and isinstance(doc[head], dict):
            found = setting(doc[head], rest)
            if found is not None:
                return found
    return None


def allowed_hosts(path):
    """``xpack.actions.allowedHosts`` of a kibana.yml file (None when it does not set it)."""
    with open(path, encoding='utf-8') as f:
        doc = resolve_env(yaml.safe_load(f) or {})
    hosts = setting(doc, 'xpack.actions.allowedHosts')
    return [str(h) for h in hosts] if isinstance(hosts, list) else None

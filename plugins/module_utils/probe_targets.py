# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a connectivity test tests, and how: targets (one per connector), the redactor that keeps
their secrets out of every text, and the run's options (including the concurrency bounds).
"""
from __future__ import annotations

import base64
import threading

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.spec import secret_values

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

VIA = ('kibana', 'direct', 'both')
DEFAULT_PROMPT = 'Hello world'  # the body Kibana's UI test sends
DEFAULT_MAX_CONCURRENCY = 32
PKI_SECRETS = ('certificateData', 'privateKeyData', 'caData')
MASK = '********'


class Target(object):
    """One connector to test: what Kibana knows (id, space) and, for direct probes, config and secrets."""

    def __init__(self, connector_id=None, name=None, connector_type_id=None, space_id='default', config=None,
                 secrets=None, pki_applied=None, error=None):
        self.connector_id = connector_id
        self.name = name
        self.connector_type_id = connector_type_id
        self.space_id = space_id or 'default'
        self.config = dict(config or {})
        self.secrets = dict(secrets or {})
        self.error = error  # a problem found while preparing (e.g. unreadable PKI files)
        self.redactor = Redactor(_secret_strings(self.secrets))

    @property
    def label(self):
        return self.connector_id or self.name or '(unnamed)'

    @property
    def has_spec(self):
        return bool(self.config)

    @property
    def upstream(self):
        """(scheme, host, port) of apiUrl: the key of the per-upstream concurrency bound, or None."""
        parts = split_url(self.config.get('apiUrl') or '')
        if not parts or not parts.hostname:
            return None
        return (parts.scheme, parts.hostname.lower(), url_port(parts))


class Redactor(object):
    """Replaces secret values (and their base64 lines) in any text that leaves the probe."""

    def __init__(self, values):
        found = set()
        for value in values:
            if len(value) >= 4:
                found.add(value)
            # PEM text inside base64 secrets: mask each long line of it as well
            for line in value.splitlines():
                if len(line.strip()) >= 32:
                    found.add(line.strip())
        self.values = sorted(found, key=len, reverse=True)

    def __call__(self, text):
        if text is None:
            return None
        text = str(text)
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text


def _secret_strings(secrets):
    """Every secret value, plus the PEM text inside base64 PKI secrets (it must not leak decoded either)."""
    out = list(secret_values([{'secrets': secrets}]))
    for key in PKI_SECRETS:
        value = (secrets or {}).get(key)
        decoded = b64decode(value) if isinstance(value, str) and value.strip() else ''
        if decoded:
            out.append(decoded)
    return out


def b64decode(value):
    try:
        return base64.b64decode(value + '=' * (-len(value) % 4)).decode('utf-8')
    except (ValueError, TypeError, UnicodeDecodeError):
        return ''


def targets_from_specs(specs, default_space, pki_encoder=None, defaults=None):
    """Targets for specs in the spec shape. ``pki_encoder(pki_block) -> secrets`` turns a ``pki:``
    block into Kibana's base64 secrets; ``defaults(type_id, config) -> config`` fills Kibana's
    server-side defaults (so a direct probe uses the model Kibana would)."""
    targets = []
    for spec in specs:
        if (spec.get('state') or 'present') == 'absent':
            continue
        secrets = dict(spec.get('secrets') or {})
        error = None
        if spec.get('pki'):
            try:
                secrets.update(pki_encoder(spec['pki']) if pki_encoder else {})
            except Exception as exc:  # pylint: disable=broad-except  # PkiError: its text has no key material
                error = 'pki: %s' % exc
        config = dict(spec.get('config') or {})
        if defaults and spec.get('connector_type_id'):
            try:
                config = defaults(spec['connector_type_id'], config)
            except Exception:  # pylint: disable=broad-except  # unknown type: test with the config as given
                pass
        targets.append(Target(connector_id=spec.get('connector_id'), name=spec.get('name'),
                              connector_type_id=spec.get('connector_type_id'),
                              space_id=spec.get('space_id') or default_space, config=config, secrets=secrets,
                              error=error))
    return targets


def targets_from_ids(connector_ids, space_id):
    return [Target(connector_id=cid, space_id=space_id) for cid in connector_ids]


class Options(object):
    """How to test. ``max_concurrency``: requests in flight at once against one Kibana;
    ``upstream_max_concurrency`` (default: the same): against one upstream (scheme, host, port),
    counting the upstream request each Kibana test makes."""

    def __init__(self, via='kibana', timeout=30, model=None, stream=True, upstream_ca_path=None,
                 max_concurrency=DEFAULT_MAX_CONCURRENCY, prompt=DEFAULT_PROMPT, where='the controller',
                 upstream_max_concurrency=None):
        if via not in VIA:
            raise ValueError('via must be one of %s' % ', '.join(VIA))
        self.via = via
        self.timeout = float(timeout)
        self.model = model
        self.stream = stream
        self.upstream_ca_path = upstream_ca_path
        self.max_concurrency = max(1, int(max_concurrency or 1))
        self.upstream_max_concurrency = max(1, int(upstream_max_concurrency or self.max_concurrency))
        self.prompt = prompt
        self.where = where


def split_url(url):
    """urlsplit, or None when the URL (e.g. its port) is malformed."""
    try:
        parts = urlsplit(url or '')
        parts.port  # pylint: disable=pointless-statement  # raises ValueError for a bad port
        return parts
    except ValueError:
        return None


def url_port(parts):
    return parts.port or (443 if parts.scheme == 'https' else 80)


class Gates(object):
    """The concurrency bounds of one run: ``with gates.kibana():`` around each Kibana request,
    ``with gates.upstream(key):`` around each request that reaches the upstream ``key`` (its
    (scheme, host, port); None: unknown, not bounded separately)."""

    def __init__(self, options):
        self._kibana = threading.BoundedSemaphore(options.max_concurrency)
        self._per_upstream = options.upstream_max_concurrency
        self._upstreams = {}
        self._lock = threading.Lock()

    def kibana(self):
        return self._kibana

    def upstream(self, key):
        if key is None:
            return _NO_GATE
        with self._lock:
            if key not in self._upstreams:
                self._upstreams[key] = threading.BoundedSemaphore(self._per_upstream)
            return self._upstreams[key]


class _NoGate(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_GATE = _NoGate()


def no_gates():
    """Gates that never wait (a single test run outside run_tests)."""
    return Gates(Options(max_concurrency=1 << 30))

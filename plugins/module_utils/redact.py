# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One masking function for every text the collection prints or writes.

A credential can come back in another form than the one the user gave: Kibana (or a proxy in
front of it) may echo the ``Authorization`` header, which holds the API key as given but the
basic-auth password only inside ``base64(user:password)``; an error page may quote a URL with a
secret percent-encoded in it. ``forms(value)`` lists the forms a secret value is masked in, and
``mask(text, values)`` / ``Masker`` replace all of them. Pure: no I/O, standard library only.
"""
from __future__ import annotations

import base64

try:
    from urllib.parse import quote, quote_plus
except ImportError:  # pragma: no cover - Python 2 is not supported by the collection's modules
    from urllib import quote, quote_plus  # type: ignore

MASK = '********'
# Shorter values are not masked: masking "a" or "no" would garble every message without protecting anything.
MIN_LENGTH = 4


def _b64(raw, urlsafe=False):
    encoded = base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)
    return encoded.decode('ascii')


def forms(value):
    """The forms of one secret value that are masked: as given, base64 and URL-encoded."""
    if value is None or isinstance(value, bool):
        return set()
    text = value if isinstance(value, str) else str(value)
    if len(text.strip()) < MIN_LENGTH:
        return set()
    raw = text.encode('utf-8')
    found = set([text, quote(text, safe=''), quote_plus(text), _b64(raw), _b64(raw).rstrip('='),
                 _b64(raw, urlsafe=True).rstrip('=')])
    return set(f for f in found if len(f) >= MIN_LENGTH)


def basic_auth(username, password):
    """The base64 that an ``Authorization: Basic`` header carries for these credentials."""
    if not username:
        return None
    return _b64(('%s:%s' % (username, password or '')).encode('utf-8'))


def credential_values(api_key=None, username=None, password=None):
    """Every value that gives access to Kibana, in the forms a request carries it."""
    values = set()
    for value in (api_key, password):
        values |= forms(value)
    if username and password:
        values.add(basic_auth(username, password))
    return values


def connection_credentials(params):
    """credential_values() for a module's connection options (doc fragment kibana)."""
    params = params or {}
    return credential_values(params.get('api_key'), params.get('username'), params.get('password'))


class Masker(object):
    """Masks a set of secret values (every form of each, see forms()) in texts and in nested data."""

    def __init__(self, values=()):
        self.values = set()
        self.add(values)

    def add(self, values):
        for value in values or ():
            self.values |= forms(value)
        self._ordered = sorted(self.values, key=len, reverse=True)
        return self

    def __call__(self, text):
        if text is None:
            return None
        if not isinstance(text, str):
            text = str(text)
        for value in self._ordered:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def data(self, value):
        """A copy of a nested structure with every string masked."""
        if isinstance(value, dict):
            return dict((k, self.data(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        if isinstance(value, str):
            return self(value)
        return value


def mask(text, values):
    """Mask every form of every value in ``text`` (a one-off Masker)."""
    return Masker(values)(text)

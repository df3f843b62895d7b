"""URL checks the connector validators share: Node's ``new URL()`` and Kibana's allow-list.

Kibana parses URLs twice with two different parsers: validators call WHATWG ``new URL()`` (throws
on anything without a scheme), and the allow-list uses the legacy ``url.parse(uri)`` hostname
(``actions_config.ts``), where ``*`` allows everything, even a URL without a hostname (§6:
``allowedHosts`` default ``['*']``; the Terraform data set has a Jira ``apiUrl: url1`` accepted).
"""
import re
from urllib.parse import urlsplit

SPECIAL_SCHEMES = {'http': 80, 'https': 443, 'ws': 80, 'wss': 443, 'ftp': 21, 'file': None}
_SCHEME = re.compile(r'^([a-zA-Z][a-zA-Z0-9+.\-]*):(.*)$', re.S)
_FORBIDDEN_HOST_CHARS = set(' #%/:<>?@[\\]^|\t\n\r\x00')


class InvalidURL(Exception):
    """Node's TypeError from ``new URL()``; str() is its message."""


class JsURL(object):
    def __init__(self, protocol, hostname, port):
        self.protocol = protocol  # 'https:' (with the colon, as in Node)
        self.hostname = hostname  # '' when the URL has none
        self.port = port


def parse_js_url(text):
    """Approximation of WHATWG ``new URL(text)``: enough to tell what Node accepts.

    Node 20+ says just ``Invalid URL`` (older Node appended ``: <input>``, as some Kibana unit
    snapshots show); Kibana 9.x runs on Node 20/22, so the short form is used.
    """
    if not isinstance(text, str):
        raise InvalidURL('Invalid URL')
    s = text.strip(' \t\n\r\x00\x0b\x0c')
    m = _SCHEME.match(s)
    if not m:
        raise InvalidURL('Invalid URL')
    scheme, rest = m.group(1).lower(), m.group(2)
    if scheme not in SPECIAL_SCHEMES:
        # Non-special schemes (mailto:, foo:) parse; a host only exists after '//'.
        host = ''
        if rest.startswith('//'):
            host = re.split(r'[/?#]', rest[2:], 1)[0].rpartition('@')[2].partition(':')[0]
        return JsURL(scheme + ':', host.lower(), None)
    rest = rest.lstrip('/\\')
    authority = re.split(r'[/\\?#]', rest, 1)[0]
    hostport = authority.rpartition('@')[2]
    if hostport.startswith('['):
        end = hostport.find(']')
        if end < 0:
            raise InvalidURL('Invalid URL')
        host, port = hostport[:end + 1], hostport[end + 1:].lstrip(':')
    else:
        host, _sep, port = hostport.partition(':')
    if scheme == 'file':
        return JsURL('file:', host.lower(), None)
    if not host or (set(host) & _FORBIDDEN_HOST_CHARS and not host.startswith('[')):
        raise InvalidURL('Invalid URL')
    if port and (not port.isdigit() or int(port) > 65535):
        raise InvalidURL('Invalid URL')
    return JsURL(scheme + ':', host.lower(), int(port) if port else None)


def legacy_hostname(uri):
    """Node's legacy ``url.parse(uri).hostname`` (None when there is none)."""
    try:
        return urlsplit(uri).hostname
    except ValueError:
        return None


class AllowList(object):
    """``xpack.actions.allowedHosts`` (§6) and the texts of ``actions_config.ts``."""

    def __init__(self, hosts):
        self.hosts = list(hosts) or ['*']

    @property
    def any(self):
        return '*' in self.hosts

    def is_hostname_allowed(self, hostname):
        return self.any or bool(hostname and hostname in self.hosts)

    def is_uri_allowed(self, uri):
        if self.any:
            return True
        return self.is_hostname_allowed(legacy_hostname(uri) if isinstance(uri, str) else None)

    def ensure_uri_allowed(self, uri):
        if not self.is_uri_allowed(uri):
            raise ValueError('target url "%s" is not added to the Kibana config xpack.actions.allowedHosts' % uri)

    def ensure_hostname_allowed(self, hostname):
        if not self.is_hostname_allowed(hostname):
            raise ValueError('target hostname "%s" is not added to the Kibana config xpack.actions.allowedHosts' % hostname)

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment(object):
    """Connection options, and the action group, shared by every module that talks to Kibana."""

    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/kibana_gitops.connectors.kibana) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - kibana_gitops.connectors.kibana
options:
  kibana_url:
    description:
      - Base URL of Kibana, for example V(https://kibana.example.com:5601). Without a space prefix, see O(space_id).
      - If not set, the environment variable E(KIBANA_URL) is used.
      - Required (here or in the environment).
    type: str
  api_key:
    description:
      - Kibana API key, the base64 C(id:api_key) value that Kibana shows when the key is created; sent in the
        C(Authorization) header as C(ApiKey <api_key>).
      - If not set, the environment variable E(KIBANA_API_KEY) is used.
      - Takes precedence over O(username) and O(password).
    type: str
  username:
    description:
      - User for basic authentication. If not set, the environment variable E(KIBANA_USERNAME) is used.
    type: str
  password:
    description:
      - Password for basic authentication. If not set, the environment variable E(KIBANA_PASSWORD) is used.
    type: str
  space_id:
    description:
      - Kibana space to work in. V(default) is Kibana's default space (no C(/s/<space>) prefix).
    type: str
    default: default
  validate_certs:
    description:
      - Verify Kibana's TLS certificate. Set to V(false) only for throw-away test instances.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) that signed Kibana's TLS certificate.
      - If not set, the environment variable E(REQUESTS_CA_BUNDLE) (or E(CURL_CA_BUNDLE)) is used, else the
        system's trusted CAs.
    type: path
  client_cert:
    description:
      - PEM client certificate to present to Kibana (or to a proxy in front of it).
    type: path
  client_key:
    description:
      - PEM private key for O(client_cert), when it is not in the same file.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer from Kibana.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is retried on connection errors and on HTTP 429, 502, 503 and 504,
        with exponential backoff, honouring C(Retry-After) (capped at 30 seconds).
      - A create without a fixed id is never re-sent blindly; the module first looks the connector up by name.
    type: int
    default: 3
  proxy_url:
    description:
      - Forward proxy for every request to Kibana, for example V(http://proxy.example.com:3128); credentials
        for the proxy may be part of the URL (V(http://user:password@proxy.example.com:3128)) and are never shown.
      - If not set, the environment variable E(KIBANA_PROXY_URL) is used; without either, the standard
        variables E(HTTPS_PROXY) / E(HTTP_PROXY) / E(ALL_PROXY) (by the scheme of O(kibana_url)) are, except for the
        hosts that E(NO_PROXY) lists. O(proxy_url) itself applies even to hosts that E(NO_PROXY) lists.
      - With an C(https://) O(kibana_url) the proxy only relays the encrypted connection (HTTP C(CONNECT)) and
        never sees the API key, the password or connector secrets; with C(http://) it sees everything, and the
        module warns.
    type: str
requirements:
  - requests
"""

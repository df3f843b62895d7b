# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: actions_settings
short_description: The xpack.actions settings of kibana.yml, rendered from connector specs
version_added: 0.2.0
description:
  - Turns connector specs (the same specs the C(kibana_gitops.connectors.connectors) role applies) into the
    C(xpack.actions) settings of a self-managed Kibana, as a dict of flat kibana.yml keys.
  - C(xpack.actions.preconfigured) holds every present spec marked C(kibana_yml.preconfigured=true), keyed by its
    C(connector_id). Secret values are never rendered - each becomes a C(${VAR}) reference that Kibana resolves
    from its environment when it starts; O(part=environment) returns the values, for the environment file of the
    Kibana service (the C(kibana_gitops.connectors.kibana_settings) role writes both).
  - C(xpack.actions.customHostSettings) holds one entry per host for specs with C(kibana_yml.custom_host)
    (for example an OpenAI-compatible gateway behind a private CA).
  - C(xpack.actions.allowedHosts) is only rendered with O(allowed_hosts=true) - a closed list of the host names of
    every present spec's URLs, plus O(extra_allowed_hosts).
  - Everything is validated first and every problem is reported in one error, each line naming the spec file,
    the connector and the field - the spec validation of M(kibana_gitops.connectors.connector_spec), then Kibana's
    rules for these settings (unknown type, duplicate or invalid preconfigured id, an id both preconfigured and
    managed through the API, customHostSettings for a host without TLS, conflicting settings for one host, and with
    O(existing) a setting that kibana.yml already sets outside the managed block).
  - Pure - it reads no file and talks to nothing.
author:
  - kibana_gitops maintainers (@kibana-gitops)
options:
  _input:
    description: Connector specs.
    type: list
    elements: dict
    required: true
  sources:
    description:
      - Where each spec came from, in the same order, each C({file, document, item}) (or null), so that errors name
        the file.
    type: list
    elements: raw
  allowed_hosts:
    description: Render C(xpack.actions.allowedHosts) as a closed list (instead of Kibana's default, every host).
    type: bool
    default: false
  extra_allowed_hosts:
    description: Host names to allow besides those of the specs (V(*) keeps every host allowed).
    type: list
    elements: str
    default: []
  env_prefix:
    description: Prefix of the environment variables that carry the secrets.
    type: str
    default: KIBANA_ACTIONS_
  existing:
    description:
      - The settings kibana.yml already has outside the managed block (parsed YAML). A key rendered here that is
        also set there is an error.
    type: dict
  part:
    description: V(settings) - the kibana.yml settings; V(environment) - the secret values by variable name.
    type: str
    choices: [settings, environment]
    default: settings
"""

EXAMPLES = r"""
- name: What kibana.yml would get (no secret in it)
  ansible.builtin.debug:
    msg: "{{ my_connectors | kibana_gitops.connectors.actions_settings(allowed_hosts=true) | to_nice_yaml }}"

# A spec that goes to kibana.yml instead of the API, behind a private CA:
#   connector_id: local-llm
#   name: Local LLM
#   connector_type_id: .gen-ai
#   config: {apiProvider: Other, apiUrl: "https://llm-gw.internal:8443/v1/chat/completions", defaultModel: llama3.1}
#   secrets: {apiKey: "{{ vault_llm_token }}"}
#   kibana_yml:
#     preconfigured: true
#     custom_host: {verification_mode: full, certificate_authorities_files: [/etc/kibana/certs/llm-ca.pem]}
# renders
#   xpack.actions.preconfigured:
#     local-llm:
#       name: Local LLM
#       actionTypeId: .gen-ai
#       config: {apiProvider: Other, apiUrl: "https://llm-gw.internal:8443/v1/chat/completions", defaultModel: llama3.1}
#       secrets: {apiKey: "${KIBANA_ACTIONS_LOCAL_LLM_APIKEY}"}
#   xpack.actions.customHostSettings:
#     - url: "https://llm-gw.internal:8443"
#       ssl: {verificationMode: full, certificateAuthoritiesFiles: [/etc/kibana/certs/llm-ca.pem]}
- name: The environment Kibana needs for those references
  ansible.builtin.set_fact:
    kibana_env: "{{ my_connectors | kibana_gitops.connectors.actions_settings(part='environment') }}"
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - With O(part=settings), a dict of flat kibana.yml keys (C(xpack.actions.preconfigured),
      C(xpack.actions.customHostSettings), C(xpack.actions.allowedHosts)), each only when there is something to set.
    - With O(part=environment), a dict of environment variable names to secret values.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import actions_settings as engine
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec as spec_rules


def actions_settings(specs, sources=None, allowed_hosts=False, extra_allowed_hosts=None, env_prefix='KIBANA_ACTIONS_',
                     existing=None, part='settings'):
    if not isinstance(specs, (list, tuple)):
        raise AnsibleFilterError('actions_settings expects a list of connector specs, got %s' % type(specs).__name__)
    if part not in ('settings', 'environment'):
        raise AnsibleFilterError('actions_settings: part must be settings or environment, not %r' % (part,))
    if not spec_rules.HAS_JSONSCHEMA:
        raise AnsibleFilterError('actions_settings needs the Python library jsonschema on the controller')
    rendered = engine.render(specs, sources, allowed_hosts=allowed_hosts, extra_allowed_hosts=extra_allowed_hosts or (),
                             env_prefix=env_prefix)
    if not rendered.ok:
        raise AnsibleFilterError('the xpack.actions settings were not rendered; %d problem(s):\n%s'
                                 % (len(rendered.errors), rendered.error_text()))
    conflicts = engine.yaml_conflicts(existing, rendered.settings) if existing else []
    if conflicts:
        raise AnsibleFilterError('kibana.yml already sets %s outside the managed block: remove it there (the specs own '
                                 'it now), or stop rendering it' % ', '.join(conflicts))
    return rendered.environment if part == 'environment' else rendered.settings


class FilterModule(object):
    def filters(self):
        return {'actions_settings': actions_settings}

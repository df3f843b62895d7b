# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module that talks to Kibana shares: connection options, the client, error reporting."""
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import kibana
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import redact
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec as spec_rules
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.deps import missing_lib


def mask_spec_secrets(module, specs):
    """For a `specs` option declared no_log=True: keep only secret values (and credentials) masked.

    no_log on the option registers every value of the specs before Ansible checks any argument, so nothing
    leaks when a check fails; once the checks passed, names, ids and URLs are unmasked for results and diffs.
    """
    module.no_log_values.difference_update(spec_rules.leaf_values(specs))
    for value in spec_rules.secret_values(specs):
        module.no_log_values.add(value)
        module.no_log_values.update(redact.forms(value))
    module.no_log_values.update(redact.connection_credentials(module.params))


class KibanaModule(AnsibleModule):
    """AnsibleModule with the connection options of the `kibana` doc fragment added.

    ``validates_specs``: the module validates connector specs, so it needs jsonschema too.
    """

    def __init__(self, argument_spec, validates_specs=False, **kwargs):
        spec = kibana.connection_argument_spec()
        spec.update(argument_spec)
        super(KibanaModule, self).__init__(argument_spec=spec, **kwargs)
        # api_key and password are no_log; their other forms (the basic-auth base64 a proxy may echo, URL-encoded)
        # are masked in every result too
        self.no_log_values.update(redact.connection_credentials(self.params))
        if not kibana.HAS_REQUESTS:
            self.fail_json(msg=missing_lib('requests'), exception=str(kibana.REQUESTS_IMPORT_ERROR))
        if validates_specs and not spec_rules.HAS_JSONSCHEMA:
            self.fail_json(msg=missing_lib('jsonschema'), exception=spec_rules.JSONSCHEMA_IMPORT_ERROR)
        if not self.params.get('kibana_url'):
            self.fail_json(msg='kibana_url is required: set the option, or the environment variable KIBANA_URL')
        self._client = None

    @property
    def client(self):
        if self._client is None:
            try:
                self._client = kibana.client_from_params(self.params)
            except kibana.KibanaError as exc:
                self.fail_json(msg=str(exc))
            for warning in self._client.warnings:
                self.warn(warning)
        return self._client

    def fail_kibana(self, exc, **result):
        """Fail with Kibana's message and the request it was for (never a body)."""
        self.fail_json(msg=str(exc), status=getattr(exc, 'status', None), **result)

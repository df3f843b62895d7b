# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for the connector_spec module.

* PKI file paths are read on the controller (see plugin_utils/pki_action.py), then the module validates.
* With ``template: true`` the module does not run: the spec files are loaded on the controller with
  Ansible's loader and Templar, as the trust model in docs/gitops.md says (plugin_utils/spec_loader.py),
  and returned as ``loaded_specs`` for the connectors role to apply. The result then holds secrets, so it
  is hidden from the output (like no_log).
"""
from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kibana_gitops.connectors.plugins.plugin_utils.pki_action import PkiActionBase


class ActionModule(PkiActionBase):
    PKI_LOCATIONS = ('specs[].pki',)

    def run(self, tmp=None, task_vars=None):
        if not boolean(self._task.args.get('template', False), strict=False):
            return super(ActionModule, self).run(tmp, task_vars)
        return self._load(task_vars or {})

    def _load(self, task_vars):
        """template: true - load the files on the controller (no module run, no validation)."""
        # imported here: it brings in the validator (jsonschema), which a validation task never needs on the controller
        from ansible_collections.kibana_gitops.connectors.plugins.plugin_utils import spec_loader
        result = dict(changed=False)
        paths = self._task.args.get('paths') or []
        inline = self._task.args.get('specs') or []
        if not isinstance(paths, list):
            paths = [paths]
        if not isinstance(inline, list):
            result.update(failed=True, msg='specs: must be a list of specs')
            return result
        templar = self._templar.copy_with_new_env(available_variables=task_vars)
        try:
            specs, files = spec_loader.load_specs([to_text(p) for p in paths], inline, self._loader, templar)
        except spec_loader.SpecLoadError as exc:
            result.update(failed=True, msg=to_text(exc))
            return result
        result.update(loaded_specs=specs, files=files, _ansible_no_log=True)
        return result

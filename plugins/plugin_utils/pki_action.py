# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the `pki` options: find the files like `copy`'s `src` and send their content.

Modules run on the target, but `pki` paths in a playbook or role mean files next to it on the
controller (role `files/`, then the playbook's folder). The action plugins of the modules that
take PKI material replace such paths with the file content before the module runs:

* PEM files become their PEM text; DER (binary) files become base64 of their bytes, which
  module_utils/pki.py accepts as inline DER.
* Vault-encrypted files are decrypted, as `copy` does.
* Inline PEM is left alone, and so is a path not found on the controller (the module then
  reads it on its host, or explains that it found nothing).

The content of a private key never reaches the output: the modules mark it `no_log`, and this
plugin also masks it, and every base64 line of it, in whatever the module returns.
"""
from __future__ import annotations

import base64
import copy
import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.kibana_gitops.connectors.plugins.module_utils.pki import split_source, with_source

PEM_FIELDS = ('certificate', 'private_key', 'ca')
SECRET_FIELDS = ('private_key',)
_MIN_LINE_TO_MASK = 32  # PEM body lines are 64 characters; shorter fragments are not worth masking


class PkiActionBase(ActionBase):
    """Resolve PKI file paths on the controller, then run the module of the same name.

    Subclasses say where PKI blocks are in their module's arguments (PKI_LOCATIONS):
    ``''`` the arguments themselves, ``'pki'`` a dict option, ``'specs[].pki'`` each spec's pki.
    CENSOR_RESULT_IF lists result keys whose presence hides the whole result from the output
    (like ``no_log``), for a module that returns key material to the play.
    """

    PKI_LOCATIONS = ()
    CENSOR_RESULT_IF = ()

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(PkiActionBase, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        module_args = copy.deepcopy(self._task.args)
        hidden = set()
        try:
            for where, block in self._pki_blocks(module_args):
                for field in PEM_FIELDS:
                    self._inline(where, block, field, hidden)
        except AnsibleError as exc:
            result.update(failed=True, msg=to_text(exc))
            return result

        module_result = self._execute_module(module_args=module_args, task_vars=task_vars)
        if hidden:
            module_result = remove_values(module_result, hidden)
        result = merge_hash(result, module_result)
        if any(key in result for key in self.CENSOR_RESULT_IF):
            result['_ansible_no_log'] = True
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _pki_blocks(self, args):
        """(option path for messages, dict) for each PKI block in the module arguments."""
        for location in self.PKI_LOCATIONS:
            if location == '':
                yield '', args
            elif location == 'pki':
                if isinstance(args.get('pki'), dict):
                    yield 'pki.', args['pki']
            elif location == 'specs[].pki':
                for index, spec in enumerate(args.get('specs') or []):
                    if isinstance(spec, dict) and isinstance(spec.get('pki'), dict):
                        yield 'specs[%d].pki.' % index, spec['pki']
            else:
                raise AnsibleError('unknown PKI location %r in %s' % (location, type(self).__name__))

    def _inline(self, where, block, field, hidden):
        value = block.get(field)
        if not isinstance(value, str) or not value.strip():
            return
        if '-----BEGIN' in value or '\n' in value.strip():
            content = value  # inline PEM (or inline base64 DER): nothing to resolve
        else:
            content = self._read_controller_file(where + field, value.strip())
            if content is None:
                return
            block[field] = content
        if field in SECRET_FIELDS:
            hidden.update(_mask_values(content))
            hidden.update(_mask_values(split_source(content)[0]))  # the key alone, without the file label

    def _read_controller_file(self, option, path):
        """The file's content as text for the module, or None when the controller has no such file."""
        try:
            found = self._find_needle('files', os.path.expanduser(path))
        except AnsibleError:
            return None  # maybe it exists on the host the module runs on: the module looks there
        try:
            real = self._loader.get_real_file(found, decrypt=True)
            try:
                with open(real, 'rb') as f:
                    data = f.read()
            finally:
                self._loader.cleanup_tmp_file(real)
        except (AnsibleError, IOError, OSError) as exc:
            # the message of a failed read or decrypt names the file, never its content
            raise AnsibleError('%s: could not read %s: %s' % (option, found, to_text(getattr(exc, 'message', None) or exc)))
        # labelled with the file, so that the module's messages about it can name it
        if b'-----BEGIN' in data:
            return with_source(found, data.decode('utf-8', 'replace'))
        if data[:1] != b'\x30':  # DER starts with an ASN.1 SEQUENCE
            raise AnsibleError('%s: %s holds neither PEM text (no -----BEGIN line) nor DER data' % (option, found))
        return with_source(found, base64.b64encode(data).decode('ascii'))


def _mask_values(content):
    """The strings to mask in output for a private key's content: all of it, and each long line of it."""
    values = set([content, content.strip()])
    values.update(line.strip() for line in content.splitlines() if len(line.strip()) >= _MIN_LINE_TO_MASK)
    return values

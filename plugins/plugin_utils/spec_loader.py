# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of spec files: read them, parse them with Ansible's YAML loader, fill in their Jinja.

This is how the connectors role loads a GitOps folder before an apply (connector_spec with
``template: true``). The trust model (docs/gitops.md):

* A spec file in the user's repository is trusted like a playbook: its strings are Jinja templates,
  filled in from the play's variables ("{{ vault_llm_apikey }}"), lookups included.
* A string tagged ``!unsafe`` is data: never evaluated. ``connector_info`` export writes every string
  that came from Kibana and holds Jinja delimiters that way, so a connector name such as
  ``{{ lookup('pipe', 'id') }}`` made in Kibana's UI, or Kibana's own mustache (``{{{case.title}}}``),
  round-trips literally. Ansible's loader honours the tag (2.17: AnsibleUnsafeText; 2.19+: the string
  is not trusted as a template), and the Templar leaves such strings alone.
* Templating happens per string, after YAML parsing, with Ansible's own Templar: a value can never
  change the YAML structure around it (a secret with quotes or a newline stays one string).
* The loaded specs are marked unsafe (wrap_var) before they leave: nothing downstream templates them again.

Files are bounded like the module's reader (module_utils/spec_files.py: size, nesting, alias expansion),
and every error names the file; messages never quote file content, which may hold secrets.
"""
from __future__ import annotations

import json
import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.parsing.yaml.loader import AnsibleLoader
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec as spec_rules
from ansible_collections.kibana_gitops.connectors.plugins.module_utils import spec_files

try:  # ansible-core 2.19+: data tagging; a string is a template only when trusted as one
    from ansible.template import trust_as_template
except ImportError:  # ansible-core 2.17/2.18: every string is a template unless it is AnsibleUnsafe
    trust_as_template = None

try:
    from yaml import YAMLError
except ImportError:  # pragma: no cover - ansible-core needs PyYAML on the controller
    YAMLError = ValueError


class SpecLoadError(AnsibleError):
    """A spec file that cannot be loaded; the message names the file and never quotes its content."""


def _parse_yaml(text, file_name, vault_secrets):
    if trust_as_template is not None:
        loader = AnsibleLoader(trust_as_template(text))
    else:
        loader = AnsibleLoader(text, file_name=file_name, vault_secrets=vault_secrets)
    documents = []
    try:
        spec_files.read_yaml_documents(loader, documents, may_alias='&' in text)
    except spec_files.SpecFileTooComplex as exc:
        raise SpecLoadError(spec_rules.format_problem(spec_files._too_complex(file_name, exc, len(documents))))
    except YAMLError as exc:
        raise SpecLoadError(spec_rules.format_problem(spec_files._yaml_error(file_name, exc, len(documents))))
    return documents


def _parse(text, file_name, vault_secrets):
    if file_name.lower().endswith('.json'):
        try:
            data = json.loads(text)
            spec_files.check_data_bounds(data)
        except spec_files.SpecFileTooComplex as exc:
            raise SpecLoadError('%s: refused: %s' % (file_name, exc))
        except RecursionError:
            raise SpecLoadError('%s: refused: nested deeper than %d levels' % (file_name, spec_files.MAX_DEPTH))
        except ValueError as exc:
            raise SpecLoadError('%s: JSON syntax error at line %s, column %s'
                                % (file_name, getattr(exc, 'lineno', '?'), getattr(exc, 'colno', '?')))
        if trust_as_template is not None:  # a JSON spec file is the user's, like a YAML one
            data = _trust_strings(data)
        return [data]
    return _parse_yaml(text, file_name, vault_secrets)


def _trust_strings(value):
    if isinstance(value, dict):
        return dict((k, _trust_strings(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_trust_strings(v) for v in value]
    if isinstance(value, str):
        return trust_as_template(value)
    return value


def read_file(loader, file_name):
    """The text of one spec file, vault-decrypted (Ansible's DataLoader), at most MAX_FILE_BYTES."""
    try:
        size = os.path.getsize(file_name)
    except OSError as exc:
        raise SpecLoadError('%s: cannot read the file: %s' % (file_name, exc.strerror or exc))
    if size > spec_files.MAX_FILE_BYTES:
        raise SpecLoadError('%s: refused: larger than %d MiB (split it into several spec files)'
                            % (file_name, spec_files.MAX_FILE_BYTES // (1024 * 1024)))
    try:
        real = loader.get_real_file(file_name, decrypt=True)
        try:
            with open(real, 'rb') as handle:
                data = handle.read(spec_files.MAX_FILE_BYTES + 1)
        finally:
            loader.cleanup_tmp_file(real)
    except (AnsibleError, IOError, OSError) as exc:
        raise SpecLoadError('%s: cannot read the file: %s' % (file_name, to_text(getattr(exc, 'message', None) or exc)))
    if len(data) > spec_files.MAX_FILE_BYTES:  # a vault-encrypted file decrypts to less than its size, never more
        raise SpecLoadError('%s: refused: larger than %d MiB' % (file_name, spec_files.MAX_FILE_BYTES // (1024 * 1024)))
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        raise SpecLoadError('%s: the file is not UTF-8 text' % file_name)


def _template(templar, value, where, mask):
    try:
        return templar.template(value)
    except AnsibleError as exc:
        # the first line only: ansible-core 2.19 appends the source lines, which may hold a secret written in clear
        message = to_text(getattr(exc, 'message', None) or exc).strip().splitlines() or ['templating failed']
        text = message[0]
        for secret in mask:
            text = text.replace(secret, '********')
        raise SpecLoadError('%s: cannot fill in its Jinja: %s' % (where, text))


def load_files(file_names, loader, templar):
    """(specs, sources) of the spec files, Jinja filled in where trusted, pki paths relative to each file.

    loader: Ansible's DataLoader (vault secrets, decryption); templar: a Templar with the play's variables.
    Raises SpecLoadError naming the file at the first file that cannot be loaded.
    """
    vault_secrets = getattr(getattr(loader, '_vault', None), 'secrets', None)
    specs, sources = [], []
    for file_name in file_names:
        documents = _parse(read_file(loader, file_name), file_name, vault_secrets)
        base_dir = os.path.dirname(os.path.abspath(file_name))
        for index, doc in enumerate(documents):
            if doc is None:
                continue  # an empty document (e.g. a trailing ---)
            where = '%s document %d' % (file_name, index)
            doc = _template(templar, doc, where, spec_rules.secret_values([d for d in (doc if isinstance(doc, list) else [doc])
                                                                           if isinstance(d, dict)]))
            items = doc if isinstance(doc, list) else [doc]
            for item_index, item in enumerate(items):
                if isinstance(item, dict):
                    item = dict(item)
                    if isinstance(item.get('pki'), dict):
                        item['pki'] = dict(item['pki'])
                        spec_files._resolve_pki_paths(item, base_dir)
                source = {'file': file_name, 'document': index}
                if isinstance(doc, list):
                    source['item'] = item_index
                specs.append(item)
                sources.append(source)
    return specs, sources


def with_defaults(specs):
    """space_id and state filled in (default / present), as the role has always handed specs on."""
    out = []
    for spec in specs:
        if isinstance(spec, dict):
            spec = dict(spec, space_id=spec.get('space_id') or 'default', state=spec.get('state') or 'present')
        out.append(spec)
    return out


def load_specs(paths, inline_specs, loader, templar):
    """What the role applies: the inline specs, then those of the files under ``paths`` (found like
    connector_spec finds them), defaults filled in, all marked unsafe. Returns (specs, files)."""
    files, errors = spec_files.spec_files(paths)
    missing = [e['file'] for e in errors if e['message'].startswith('no such file')]
    if missing:
        raise SpecLoadError('spec path not found: %s' % ', '.join(missing))
    file_specs, _sources = load_files(files, loader, templar)
    return wrap_var(with_defaults(list(inline_specs or []) + file_specs)), files

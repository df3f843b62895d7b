# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read connector spec files: YAML (several documents per file) or JSON, from files and directories.

The only I/O of spec validation; spec.py stays pure. A document is one spec (a mapping) or a list of
specs. Problems (unreadable file, YAML syntax, vault-encrypted file) come back as errors in
spec.py's shape; their messages never quote file content, which may hold secrets.
"""
from __future__ import annotations

import json
import os

# Ansible's own PyYAML wrapper: libyaml's safe loader when available (several times faster), else PyYAML's
from ansible.module_utils.common.yaml import HAS_YAML, yaml_load_all

try:
    from yaml import YAMLError
except ImportError:  # the module reports missing_required_lib('PyYAML') before reading files
    YAMLError = ValueError

SPEC_EXTENSIONS = ('.yml', '.yaml', '.json')
PKI_PATH_FIELDS = ('certificate', 'private_key', 'ca')


def _error(file_name, message, document=None, hint=None):
    return {'file': file_name, 'document': document, 'connector': None, 'path': '', 'message': message,
            'hint': hint, 'rule': None}


def spec_files(paths):
    """(files, errors): the spec files under ``paths`` (files as given, directories walked, sorted)."""
    files, errors = [], []
    for path in paths if isinstance(paths, (list, tuple)) else [paths]:
        path = os.path.expanduser(str(path))
        if os.path.isdir(path):
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
                found.extend(os.path.join(root, n) for n in names
                             if n.lower().endswith(SPEC_EXTENSIONS) and not n.startswith('.'))
            if not found:  # a misspelled folder must not become an empty set (that prune would apply)
                errors.append(dict(_error(path, 'directory has no spec files (*.yml, *.yaml, *.json)',
                                          hint='check the folder name; allow_empty: true if it is meant to be empty'),
                                   rule='empty-folder'))
            files.extend(sorted(found))
        elif os.path.isfile(path):
            files.append(path)
        else:
            errors.append(_error(path, 'no such file or directory'))
    return files, errors


def _yaml_error(file_name, exc, document):
    mark = getattr(exc, 'problem_mark', None)
    where = ' at line %d, column %d' % (mark.line + 1, mark.column + 1) if mark is not None else ''
    problem = getattr(exc, 'problem', None) or 'invalid YAML'
    return _error(file_name, 'YAML syntax error%s: %s' % (where, problem), document=document,
                  hint='check the indentation and quoting around that line')


def _documents(file_name, text):
    """(documents, errors) of one file's text."""
    if text.lstrip().startswith('$ANSIBLE_VAULT'):
        return [], [_error(file_name, 'file is encrypted with ansible-vault and cannot be read offline',
                           hint='keep secrets in vault variables referenced from the spec ({{ vault_x }})')]
    if file_name.lower().endswith('.json'):
        try:
            return [json.loads(text)], []
        except ValueError as exc:
            return [], [_error(file_name, 'JSON syntax error at line %s, column %s: %s'
                               % (getattr(exc, 'lineno', '?'), getattr(exc, 'colno', '?'),
                                  getattr(exc, 'msg', 'invalid JSON')))]
    documents = []
    if not HAS_YAML:
        return [], [_error(file_name, 'PyYAML is required to read YAML spec files')]
    try:
        for doc in yaml_load_all(text):
            documents.append(doc)
    except YAMLError as exc:
        return documents, [_yaml_error(file_name, exc, len(documents))]
    return documents, []


def _resolve_pki_paths(spec, base_dir):
    """pki file paths in a spec file are relative to that file (when the file is there)."""
    pki = spec.get('pki') if isinstance(spec, dict) else None
    if not isinstance(pki, dict):
        return
    for field in PKI_PATH_FIELDS:
        value = pki.get(field)
        if isinstance(value, str) and value.strip() and '-----BEGIN' not in value and '{{' not in value \
                and not os.path.isabs(os.path.expanduser(value)):
            candidate = os.path.join(base_dir, value)
            if os.path.exists(candidate):
                pki[field] = candidate


def load_spec_file(file_name):
    """(specs, sources, errors) of one file."""
    specs, sources = [], []
    try:
        with open(file_name, 'rb') as handle:
            text = handle.read().decode('utf-8')
    except (IOError, OSError) as exc:
        return specs, sources, [_error(file_name, 'cannot read the file: %s' % (exc.strerror or exc))]
    except UnicodeDecodeError:
        return specs, sources, [_error(file_name, 'the file is not UTF-8 text')]
    documents, errors = _documents(file_name, text)
    base_dir = os.path.dirname(os.path.abspath(file_name))
    for index, doc in enumerate(documents):
        if doc is None:
            continue  # an empty document (e.g. a trailing ---)
        items = doc if isinstance(doc, list) else [doc]
        for item_index, item in enumerate(items):
            _resolve_pki_paths(item, base_dir)
            source = {'file': file_name, 'document': index}
            if isinstance(doc, list):
                source['item'] = item_index
            specs.append(item)
            sources.append(source)
    return specs, sources, errors


def load_spec_paths(paths):
    """(specs, sources, errors) from files and directories; see docs/internals.md."""
    files, errors = spec_files(paths)
    specs, sources = [], []
    for file_name in files:
        file_specs, file_sources, file_errors = load_spec_file(file_name)
        specs.extend(file_specs)
        sources.extend(file_sources)
        errors.extend(file_errors)
    return specs, sources, errors

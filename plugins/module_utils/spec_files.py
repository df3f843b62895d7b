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
from ansible.module_utils.common.yaml import HAS_YAML

if HAS_YAML:
    from ansible.module_utils.common.yaml import SafeLoader
    from yaml import YAMLError
    from yaml.nodes import CollectionNode, MappingNode

    class SpecLoader(SafeLoader):  # pylint: disable=too-many-ancestors
        """The safe loader, plus Ansible's ``!unsafe`` tag (a plain string here: validation templates nothing)."""

    def _construct_unsafe(loader, node):
        if isinstance(node, MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, CollectionNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    SpecLoader.add_constructor('!unsafe', _construct_unsafe)
else:  # the module reports missing_required_lib('PyYAML') before reading files
    SpecLoader = None
    YAMLError = ValueError

SPEC_EXTENSIONS = ('.yml', '.yaml', '.json')
PKI_PATH_FIELDS = ('certificate', 'private_key', 'ca')

# Bounds on one spec file, so that a hostile or broken file fails fast with its name instead of keeping
# the run busy (YAML alias expansion, "billion laughs") or ending in a RecursionError (deep nesting).
# A real spec is about 5 levels deep; a file of 1,000 specs is well under 1 MiB.
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 32
MAX_ALIAS_NODES = 100000  # nodes that aliases (*name) may add to a file, counted as if copied


class SpecFileTooComplex(Exception):
    """A file beyond one of the bounds above; str() says which, without quoting the file."""


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


def check_node_bounds(root, may_alias=True):
    """Raise SpecFileTooComplex when a composed YAML document nests more than MAX_DEPTH collections deep, when
    its aliases would add more than MAX_ALIAS_NODES nodes once expanded, or when an alias refers to itself.

    Aliases are shared node objects in PyYAML's node graph, so the graph is walked once (iteratively, with
    each shared node's expanded size memoised): the cost is linear in the file, never in the expansion.
    may_alias=False (the text has no '&', so no anchor) takes a cheaper walk that only measures depth.
    """
    if not may_alias:
        _check_tree_depth(root)
        return
    sizes = {}  # id(node) -> expanded size (nodes, counting itself)
    depths = {}  # id(node) -> collection levels from it down (0 for a scalar)
    extra = 0
    stack = [(root, False)]
    open_nodes = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            depths[key] = 1 + max([depths[id(c)] for c in children] or [0])
            if depths[key] > MAX_DEPTH:
                raise SpecFileTooComplex('nested deeper than %d levels' % MAX_DEPTH)
            continue
        if key in sizes:  # an alias to a node already walked: its copy adds its whole size
            extra += sizes[key]
            if extra > MAX_ALIAS_NODES:
                raise SpecFileTooComplex('YAML aliases expand to more than %d nodes (alias expansion bomb?)' % MAX_ALIAS_NODES)
            continue
        if key in open_nodes:
            raise SpecFileTooComplex('a YAML alias refers to a node that contains it (recursive structure)')
        if not isinstance(node.value, list):  # a scalar
            sizes[key], depths[key] = 1, 0
            continue
        if len(open_nodes) >= MAX_DEPTH:
            raise SpecFileTooComplex('nested deeper than %d levels' % MAX_DEPTH)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _check_tree_depth(root):
    """check_node_bounds for a node tree without aliases: collection nodes only, one pass."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SpecFileTooComplex('nested deeper than %d levels' % MAX_DEPTH)
        depth += 1
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(value.value, list):
                    stack.append((value, depth))
                if isinstance(key.value, list):
                    stack.append((key, depth))
        else:
            stack.extend((child, depth) for child in node.value if isinstance(child.value, list))


def _children(node):
    if isinstance(node, MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, CollectionNode):
        return list(node.value)
    return []


def check_data_bounds(data):
    """Raise SpecFileTooComplex when parsed data (JSON) nests deeper than MAX_DEPTH (iterative walk)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise SpecFileTooComplex('nested deeper than %d levels' % MAX_DEPTH)
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))


def read_yaml_documents(loader, documents, may_alias=True):
    """Append the documents of a YAML loader instance (PyYAML's or Ansible's) to ``documents``, each checked by
    check_node_bounds before it is constructed. Raises YAMLError or SpecFileTooComplex (RecursionError is turned
    into it); ``len(documents)`` then tells which document failed."""
    try:
        while loader.check_node():
            node = loader.get_node()
            if isinstance(node.value, list):
                check_node_bounds(node, may_alias)
            documents.append(loader.construct_document(node))
    except RecursionError:  # the pure-Python composer, before MAX_DEPTH could be checked
        raise SpecFileTooComplex('nested deeper than %d levels' % MAX_DEPTH)
    finally:
        loader.dispose()


def _documents(file_name, text):
    """(documents, errors) of one file's text."""
    if text.lstrip().startswith('$ANSIBLE_VAULT'):
        return [], [_error(file_name, 'file is encrypted with ansible-vault and cannot be read offline',
                           hint='keep secrets in vault variables referenced from the spec ({{ vault_x }})')]
    if file_name.lower().endswith('.json'):
        try:
            data = json.loads(text)
            check_data_bounds(data)
            return [data], []
        except SpecFileTooComplex as exc:
            return [], [_too_complex(file_name, exc)]
        except RecursionError:
            return [], [_too_complex(file_name, SpecFileTooComplex('nested deeper than %d levels' % MAX_DEPTH))]
        except ValueError as exc:
            return [], [_error(file_name, 'JSON syntax error at line %s, column %s: %s'
                               % (getattr(exc, 'lineno', '?'), getattr(exc, 'colno', '?'),
                                  getattr(exc, 'msg', 'invalid JSON')))]
    if not HAS_YAML:
        return [], [_error(file_name, 'PyYAML is required to read YAML spec files')]
    documents = []
    try:
        read_yaml_documents(SpecLoader(text), documents, may_alias='&' in text)
    except SpecFileTooComplex as exc:
        return documents, [_too_complex(file_name, exc, len(documents))]
    except YAMLError as exc:
        return documents, [_yaml_error(file_name, exc, len(documents))]
    return documents, []


def _too_complex(file_name, exc, document=None):
    hint = ('a connector spec is about 5 levels deep' if 'nested' in str(exc)
            else 'a connector spec needs few YAML aliases, if any')
    return _error(file_name, 'refused: %s' % exc, document=document, hint=hint)


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
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            return specs, sources, [_error(file_name, 'refused: larger than %d MiB' % (MAX_FILE_BYTES // (1024 * 1024)),
                                           hint='split it into several spec files')]
        text = raw.decode('utf-8')
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

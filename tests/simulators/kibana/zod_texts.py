"""Zod error texts as Kibana prints them (reference §0).

* 9.3 (zod v3): ``formatZodError`` (actions/server/lib/format_zod_error.ts): ``err.format()`` builds a
  tree of messages by path (union errors are merged into it), then one error gives
  ``Field "a.b": msg1, msg2``, several give ``N errors:\\n [1]: …;\\n [2]: …``, at most 5 then ``and N more``.
* 9.4+ (zod v4): ``z.prettifyError``: issues sorted by path length, each ``✖ <message>`` plus
  ``  → at <dot path>`` when the path is not empty, joined by newlines.
Messages are zod's default English ones (v3 ZodError default error map; v4 locales/en).
"""
import json
import re

MAX_ERRORS = 5  # format_zod_error.ts
MAX_RECURSION = 20


def _v3_join(values, sep=' | '):
    return sep.join("'%s'" % v if isinstance(v, str) else json.dumps(v) for v in values)


def _v4_value(value):
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def message_v3(issue):
    info = issue.info
    if issue.code == 'invalid_type':
        if info['received'] == 'undefined':
            return 'Required'
        return 'Expected %s, received %s' % (info['expected'], info['received'])
    if issue.code == 'invalid_value':
        received = info['received']
        return "Invalid enum value. Expected %s, received %s" % (
            _v3_join(info['values']), "'%s'" % received if isinstance(received, str) else json.dumps(received))
    if issue.code == 'unrecognized_keys':
        return 'Unrecognized key(s) in object: %s' % _v3_join(info['keys'], ', ')
    if issue.code == 'too_small':
        if info['origin'] == 'string':
            return 'String must contain at least %s character(s)' % info['minimum']
        if info['origin'] == 'array':
            return 'Array must contain at least %s element(s)' % info['minimum']
        return 'Number must be greater than or equal to %s' % info['minimum']
    if issue.code == 'too_big':
        if info['origin'] == 'string':
            return 'String must contain at most %s character(s)' % info['maximum']
        if info['origin'] == 'array':
            return 'Array must contain at most %s element(s)' % info['maximum']
        return 'Number must be less than or equal to %s' % info['maximum']
    if issue.code == 'invalid_format':  # v3: invalid_string with validation 'url'
        return 'Invalid %s' % info['format']
    if issue.code == 'invalid_union':
        return 'Invalid input'
    return info.get('message', 'Invalid input')


def message_v4(issue):
    info = issue.info
    if issue.code == 'invalid_type':
        received = 'NaN' if info['received'] == 'nan' else info['received']
        return 'Invalid input: expected %s, received %s' % (info['expected'], received)
    if issue.code == 'invalid_value':
        values = info['values']
        if len(values) == 1:
            return 'Invalid input: expected %s' % _v4_value(values[0])
        return 'Invalid option: expected one of %s' % '|'.join(_v4_value(v) for v in values)
    if issue.code == 'unrecognized_keys':
        keys = info['keys']
        return 'Unrecognized key%s: %s' % ('s' if len(keys) > 1 else '', ', '.join(_v4_value(k) for k in keys))
    if issue.code in ('too_small', 'too_big'):
        small = issue.code == 'too_small'
        bound = '>=%s' % info['minimum'] if small else '<=%s' % info['maximum']
        units = {'string': 'characters', 'array': 'items'}
        if info['origin'] in units:
            return 'Too %s: expected %s to have %s %s' % ('small' if small else 'big', info['origin'], bound,
                                                          units[info['origin']])
        return 'Too %s: expected %s to be %s' % ('small' if small else 'big', info['origin'], bound)
    if issue.code == 'invalid_format':
        return 'Invalid %s' % info['format'].upper()  # locales/en: Nouns.url = 'URL'
    if issue.code == 'invalid_union':
        return 'Invalid input'
    return info.get('message', 'Invalid input')


# --- zod v3: ZodError.format() + Kibana's formatZodError ----------------------------------------

def _is_index(key):
    """JavaScript enumerates integer-like keys first, ascending."""
    return isinstance(key, int) or (isinstance(key, str) and re.match(r'^(0|[1-9]\d*)$', key) is not None)


def _js_keys(node):
    keys = [k for k in node if k != '_errors']
    ints = sorted((k for k in keys if _is_index(k)), key=int)
    return ints + [k for k in keys if not _is_index(k)]


def _v3_tree(issues, tree=None):
    tree = tree if tree is not None else {'_errors': []}
    for issue in issues:
        if issue.code == 'invalid_union':
            for branch in issue.info['union_errors']:
                _v3_tree(branch, tree)
        elif not issue.path:
            tree['_errors'].append(message_v3(issue))
        else:
            node = tree
            for i, element in enumerate(issue.path):
                key = str(element)
                node = node.setdefault(key, {'_errors': []})
                if i == len(issue.path) - 1:
                    node['_errors'].append(message_v3(issue))
    return tree


def _v3_collect(node, messages, prefix='', level=0):
    for field in _js_keys(node):
        child = node[field]
        path = '%s.%s' % (prefix, field) if prefix else field
        if level >= MAX_RECURSION:
            messages.append('Field "%s...": Unable to parse ZodError - too many levels deep' % path)
            return
        if child['_errors']:
            messages.append('Field "%s": %s' % (path, ', '.join(child['_errors'])))
        else:
            _v3_collect(child, messages, path, level + 1)


def format_z3(issues):
    tree = _v3_tree(issues)
    messages = list(tree['_errors'])
    _v3_collect(tree, messages)
    total = len(messages)
    extra = total - MAX_ERRORS
    if extra > 0:
        messages = messages[:MAX_ERRORS] + ['and %d more' % extra]
    if total == 1:
        return '; '.join(messages)
    return '%d errors:\n %s' % (total, ';\n '.join('[%d]: %s' % (i + 1, m) for i, m in enumerate(messages)))


# --- zod v4: z.prettifyError --------------------------------------------------------------------

def to_dot_path(path):
    segs = []
    for seg in path:
        if isinstance(seg, int):
            segs.append('[%d]' % seg)
        elif re.search(r'[^\w$]', seg):
            segs.append('[%s]' % json.dumps(seg))
        else:
            if segs:
                segs.append('.')
            segs.append(seg)
    return ''.join(segs)


def format_z4(issues):
    lines = []
    for issue in sorted(issues, key=lambda i: len(i.path)):  # sorted() is stable, like Array.sort
        lines.append(u'\u2716 %s' % message_v4(issue))
        if issue.path:
            lines.append(u'  \u2192 at %s' % to_dot_path(issue.path))
    return '\n'.join(lines)


def format_issues(issues, era):
    return format_z4(issues) if era == 'Z4' else format_z3(issues)

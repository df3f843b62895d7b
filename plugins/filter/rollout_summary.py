# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: rollout_summary
short_description: Markdown summary of a connectors rollout, per Kibana instance and space
version_added: 0.1.0
description:
  - Turns what the C(kibana_gitops.connectors.connectors) role recorded for each Kibana instance
    (the C(connectors_rollout) fact) into Markdown for a pull-request comment or a CI job summary.
  - One table row per instance and space with the number of connectors created, updated, deleted, unchanged,
    failed and refused, a total row, the Kibana release of each instance, then the list of changes (with the
    fields that differ), failures, specs the release of an instance refused (with the first release that accepts
    them) and the other refusals with their reasons.
  - With the C(dashboards) of a space (C(connectors_usage_dashboards) of the role), a list of the AI connectors'
    token usage dashboard links, or why each is not available.
  - It only reads connector ids, names, actions, field names and messages; secret values are never part of its
    input, so they cannot be part of its output.
author:
  - kibana_gitops maintainers (@kibana-gitops)
positional: title, max_items
options:
  _input:
    description:
      - A list of records, one per Kibana instance, each with C(host), C(kibana_url), C(check_mode), C(kibana_version)
        and C(spaces).
        Each space has C(space_id), C(specs) (how many specs the set has), C(failed), C(msg), and C(summary) and
        C(results) as the M(kibana_gitops.connectors.connectors) module returns them.
    type: list
    elements: dict
    required: true
  title:
    description: The heading. By default V(Kibana connectors rollout), or V(Kibana connectors drift) in check mode.
    type: str
  max_items:
    description: At most this many lines per list (changes, failures, refusals), so the comment stays short.
    type: int
    default: 50
"""

EXAMPLES = r"""
- name: Write the rollout summary of every Kibana instance of the play
  ansible.builtin.copy:
    dest: rollout-summary.md
    content: >-
      {{ ansible_play_hosts_all | map('extract', hostvars) | selectattr('connectors_rollout', 'defined')
         | map(attribute='connectors_rollout') | kibana_gitops.connectors.rollout_summary }}
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
_value:
  description: Markdown text.
  type: str
"""

from ansible.errors import AnsibleFilterError

COUNTS = ('created', 'updated', 'deleted', 'unchanged', 'failed', 'refused')


def _md(text):
    """Text safe inside a Markdown table cell or list item (one line, no table breaks)."""
    return ' '.join(str(text if text is not None else '').split()).replace('|', '\\|')


def _code(text):
    return '`%s`' % str(text).replace('`', "'")


def _connector(result):
    cid = result.get('connector_id')
    name = result.get('name')
    if cid and name and name != cid:
        return '%s (%s)' % (_code(cid), _md(name))
    return _code(cid or name or '(unnamed)')


def _space_rows(record):
    for space in record.get('spaces') or []:
        yield record, space


def _capped(lines, max_items):
    if len(lines) <= max_items:
        return lines
    return lines[:max_items] + ['- ... and %d more' % (len(lines) - max_items)]


def rollout_summary(records, title=None, max_items=50):
    """Markdown for a list of per-instance rollout records (see DOCUMENTATION)."""
    if not isinstance(records, (list, tuple)):
        raise AnsibleFilterError('rollout_summary expects a list of rollout records, got %s' % type(records).__name__)
    records = sorted((r for r in records if isinstance(r, dict)), key=lambda r: str(r.get('host')))
    check_mode = any(r.get('check_mode') for r in records)
    lines = ['## %s' % (title or ('Kibana connectors drift' if check_mode else 'Kibana connectors rollout')), '']
    if check_mode:
        lines += ['Check mode: nothing was written. The counts are what an apply would do.', '']
    if not records:
        return '\n'.join(lines + ['No Kibana instance was reached.', ''])

    lines += ['| Kibana | Space | %s |' % ' | '.join(c.capitalize() for c in COUNTS),
              '|:--|:--|%s|' % '|'.join('--:' for _c in COUNTS)]
    totals = dict((c, 0) for c in COUNTS)
    changes, failures, refusals, version_refusals = [], [], [], []
    for record, space in (row for r in records for row in _space_rows(r)):
        where = '%s / %s' % (_code(record.get('host')), _code(space.get('space_id')))
        summary = space.get('summary') or {}
        results = space.get('results') or []
        if space.get('failed') and not summary:
            # the space failed as a whole (Kibana unreachable, invalid specs, ...): every connector of it failed
            count = int(space.get('specs') or 0)
            cells = ['-'] * 4 + [str(count) if count else 'all', '-']
            totals['failed'] += count
        else:
            cells = [str(summary.get(c, 0)) for c in COUNTS]
            for c in COUNTS:
                totals[c] += int(summary.get(c, 0) or 0)
        lines.append('| %s | %s | %s |' % (_md(record.get('host')), _md(space.get('space_id')), ' | '.join(cells)))
        for r in results:
            action = r.get('action')
            if action in ('created', 'updated', 'deleted'):
                detail = ' (pruned)' if r.get('pruned') else ''
                if action == 'updated' and r.get('changes'):
                    detail += ': %s' % ', '.join(_md(c) for c in r['changes'])
                changes.append('- %s: %s %s%s' % (where, action, _connector(r), detail))
            elif action == 'failed':
                failures.append('- %s: %s: %s' % (where, _connector(r), _md(r.get('msg'))))
            elif action == 'refused' and r.get('version_refused'):
                first = (' (first release that accepts it: %s)' % _md(r['accepted_from'])) if r.get('accepted_from') else ''
                version_refusals.append('- %s: %s%s: %s' % (where, _connector(r), first, _md(r.get('msg'))))
            elif action == 'refused':
                refusals.append('- %s: %s: %s' % (where, _connector(r), _md(r.get('msg'))))
        if space.get('failed') and not [r for r in results if r.get('action') == 'failed'] and \
                not [r for r in results if r.get('version_refused')]:
            failures.append('- %s: %s' % (where, _md(space.get('msg') or 'failed')))
    lines.append('| **Total** | | %s |' % ' | '.join('**%d**' % totals[c] for c in COUNTS))
    lines.append('')
    lines.append('%d Kibana instance(s): %s.' % (len(records), ', '.join(
        _code(r.get('host')) + (' (Kibana %s)' % _md(r['kibana_version']) if r.get('kibana_version') else '')
        for r in records)))
    lines.append('')
    for heading, items in (('Would change' if check_mode else 'Changes', changes), ('Failed', failures),
                           ('Refused by the Kibana release (nothing was sent)', version_refusals),
                           ('Refused', refusals)):
        if items:
            lines += ['### %s' % heading, ''] + _capped(items, max_items) + ['']
    if not changes and not failures:
        lines += ['No changes.', '']
    return '\n'.join(lines + _tests_section(records, max_items) + _dashboards_section(records, max_items))


def _dashboards_section(records, max_items):
    """Token usage dashboards of the AI connectors, when the rollout looked them up (connectors_usage_dashboards)."""
    items = []
    for record, space in (row for r in records for row in _space_rows(r)):
        where = '%s / %s' % (_code(record.get('host')), _code(space.get('space_id')))
        for c in space.get('dashboards') or []:
            board = c.get('usage_dashboard') or {}
            who = _connector({'connector_id': c.get('id'), 'name': c.get('name')})
            if board.get('available') and board.get('url'):
                items.append('- %s: %s: [token usage dashboard](%s)' % (where, who, str(board['url']).replace(')', '%29')))
            else:
                items.append('- %s: %s: not available: %s' % (where, who, _md(board.get('reason') or 'unknown')))
    if not items:
        return []
    return ['### Token usage dashboards', ''] + _capped(items, max_items) + ['']


def _tests_section(records, max_items):
    """Connectivity tests (connector_test results), when the rollout ran them."""
    rows, failures = [], []
    for record in records:
        for space in record.get('tests') or []:
            where = '%s / %s' % (_code(record.get('host')), _code(space.get('space_id')))
            summary = space.get('summary') or {}
            if space.get('failed') and not summary:
                rows.append('| %s | %s | - | - | - |' % (_md(record.get('host')), _md(space.get('space_id'))))
                failures.append('- %s: %s' % (where, _md(space.get('msg') or 'failed')))
                continue
            rows.append('| %s | %s | %s |' % (_md(record.get('host')), _md(space.get('space_id')), ' | '.join(
                str(summary.get(k, 0)) for k in ('ok', 'failed', 'skipped'))))
            for r in space.get('results') or []:
                if r.get('status') == 'failed':
                    hint = ' - %s' % _md(r['hint']) if r.get('hint') else ''
                    failures.append('- %s: %s: %s%s' % (where, _connector(r), _md(r.get('class') or 'failed'), hint))
    if not rows:
        return []
    lines = ['### Connectivity tests', '', '| Kibana | Space | Ok | Failed | Skipped |', '|:--|:--|--:|--:|--:|']
    lines += rows + ['']
    if failures:
        lines += _capped(failures, max_items) + ['']
    return lines


class FilterModule(object):

    def filters(self):
        return {'rollout_summary': rollout_summary}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports of a connectivity test run for CI job pages: JUnit XML and a Markdown summary, written atomically.

The results are already redacted per connector (probe_targets.Redactor). Every text a report takes
from them goes through ``masked()`` as well: the one place for masking what a whole run knows
(``redact``: a callable text -> text, e.g. one that masks the Kibana credentials).
"""
from __future__ import annotations

from xml.sax.saxutils import escape as xml_escape, quoteattr

from ansible_collections.kibana_gitops.connectors.plugins.module_utils import files
from ansible_collections.kibana_gitops.connectors.plugins.module_utils.probe_classes import FAILED, OK, SKIPPED


def summarise(results):
    summary = {'total': len(results), OK: 0, FAILED: 0, SKIPPED: 0}
    for r in results:
        summary[r['status']] += 1
    return summary


def masked(value, redact=None):
    """The text of ``value`` as a report may show it."""
    text = str(value)
    return redact(text) if redact else text


def junit_xml(results, suite='kibana connector tests', redact=None):
    """JUnit XML (one testcase per connector) for CI job pages."""
    summary = summarise(results)
    total_time = sum((r.get('latency_ms') or 0) for r in results) / 1000.0
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<testsuites name=%s tests="%d" failures="%d" skipped="%d" time="%.3f">' % (
               quoteattr(suite), summary['total'], summary[FAILED], summary[SKIPPED], total_time),
           '  <testsuite name=%s tests="%d" failures="%d" errors="0" skipped="%d" time="%.3f">' % (
               quoteattr(suite), summary['total'], summary[FAILED], summary[SKIPPED], total_time)]
    for r in results:
        name = '%s (%s)' % (r.get('connector_id') or r.get('name'), r.get('via'))
        out.append('    <testcase classname=%s name=%s time="%.3f">' % (
            quoteattr(masked('connectors.%s' % r.get('space_id'), redact)), quoteattr(masked(name, redact)),
            (r.get('latency_ms') or 0) / 1000.0))
        stages = masked('\n'.join(stage_line(s) for s in r['stages']), redact)
        if r['status'] == FAILED:
            out.append('      <failure type=%s message=%s>%s</failure>' % (
                quoteattr(masked(r.get('class') or 'failed', redact)),
                quoteattr(masked('%s: %s' % (r.get('class'), r.get('hint')), redact)),
                xml_escape(masked('%s\n%s' % (r.get('message'), stages), redact))))
        elif r['status'] == SKIPPED:
            out.append('      <skipped message=%s/>' % quoteattr(masked(r.get('message') or 'skipped', redact)))
        out.append('      <system-out>%s</system-out>' % xml_escape(stages))
        out.append('    </testcase>')
    out += ['  </testsuite>', '</testsuites>', '']
    return '\n'.join(out)


def stage_line(stage):
    """One stage as a line: ``via/name: status [class] N ms (first byte N ms) - detail``."""
    timing = ''
    if stage.get('latency_ms') is not None:
        timing = ' %d ms' % stage['latency_ms']
    if stage.get('ttfb_ms') is not None:
        timing += ' (first byte %d ms)' % stage['ttfb_ms']
    klass = ' [%s]' % stage['class'] if stage.get('class') else ''
    return '%s/%s: %s%s%s - %s' % (stage['via'], stage['name'], stage['status'], klass, timing, stage.get('detail'))


def markdown_summary(results, title='Connector connectivity', redact=None):
    """A Markdown table for pipeline job pages (GitHub step summary, GitLab)."""
    def md(value):
        return masked(value, redact).replace('|', '\\|').replace('\n', ' ')

    summary = summarise(results)
    out = ['## %s' % title, '',
           '%d connectors: %d ok, %d failed, %d skipped' % (summary['total'], summary[OK], summary[FAILED],
                                                            summary[SKIPPED]), '',
           '| Connector | Space | Via | Status | Class | Latency | Tokens | Hint |',
           '|---|---|---|---|---|---|---|---|']
    for r in results:
        usage = r.get('usage') or {}
        out.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            md(r.get('connector_id') or r.get('name')), md(r.get('space_id')), r.get('via'),
            {'ok': 'ok', 'failed': '**failed**', 'skipped': 'skipped'}[r['status']], md(r.get('class') or ''),
            '%d ms' % r['latency_ms'] if r.get('latency_ms') is not None else '', md(usage.get('total_tokens', '')),
            md(r.get('hint') or '')))
    failed = [r for r in results if r['status'] == FAILED]
    for r in failed:
        out += ['', '### %s: %s' % (md(r.get('connector_id') or r.get('name')), md(r.get('class'))), '',
                md(r.get('message') or ''), '']
        out += ['- %s' % md(stage_line(s)) for s in r['stages']]
    out.append('')
    return '\n'.join(out)


def write_report(path, text):
    """Write a report atomically (a pipeline may read the file while a re-run writes it)."""
    files.write_atomically(path, text)

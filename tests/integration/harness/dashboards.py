# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run every query of Grafana dashboards against a live Prometheus.

Usage: dashboards.py PROMETHEUS_URL DASHBOARD.json [...] [--var NAME=VALUE ...] [--require-data] [--json]

Every panel target's ``expr`` (in rows and collapsed rows too) and every
query variable of the dashboards' templating is sent to PROMETHEUS_URL's
``/api/v1/query`` after Grafana's variables are replaced: the dashboards'
own variables by ``.*`` (what "All" means with ``allValue: .*``) unless
``--var`` gives a value (used as given, a regex), ``$__rate_interval`` and
the other built-in ones by fixed durations (BUILTINS).  A variable query
``label_values(EXPR, LABEL)`` runs as ``count by (LABEL) (EXPR)``, so its
series are the values Grafana would offer.

Prints one line per query: OK or ERROR, the number of series, the
dashboard, the panel and the expression sent (``--json``: the list of
results instead).  Exits 1 when a query fails (or, with ``--require-data``,
returns no series), 2 on bad arguments.  Only the standard library.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

__all__ = ['BUILTINS', 'api_get', 'check', 'queries', 'run_query', 'substitute', 'variable_expr', 'walk_panels']

# Grafana's built-in variables, with values fit for an instant query over the last hour
BUILTINS = {
    '__rate_interval': '1m', '__interval': '30s', '__interval_ms': '30000',
    '__range': '1h', '__range_s': '3600', '__range_ms': '3600000',
}
ALL = '.*'
# $name, ${name}, ${name:format}, [[name]], [[name:format]]
_VARIABLE = re.compile(r'\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)')
_LABEL_VALUES = re.compile(r'^\s*label_values\s*\((.*)\)\s*$', re.S)
_QUERY_RESULT = re.compile(r'^\s*query_result\s*\((.*)\)\s*$', re.S)
_METRICS = re.compile(r'^\s*metrics\s*\((.*)\)\s*$', re.S)


def walk_panels(panels):
    """Every panel of a list, depth first, with the panels rows hold (open rows and collapsed ones)."""
    for panel in panels or []:
        yield panel
        yield from walk_panels(panel.get('panels'))


def _all_panels(dashboard):
    found = list(walk_panels(dashboard.get('panels')))
    for row in dashboard.get('rows') or []:  # the layout of dashboards before schema 16
        found.extend(walk_panels(row.get('panels')))
    return found


def _variable_text(variable):
    query = variable.get('query')
    if isinstance(query, dict):
        query = query.get('query')
    return query or variable.get('definition') or ''


def variable_expr(text):
    """The PromQL a Grafana variable query of the Prometheus data source stands for."""
    match = _LABEL_VALUES.match(text)
    if match:
        inner = match.group(1)
        expr, sep, label = inner.rpartition(',')
        if not sep:  # label_values(label): every series that has it
            label = inner.strip()
            return 'count by (%s) ({%s!=""})' % (label, label)
        return 'count by (%s) (%s)' % (label.strip(), expr.strip())
    match = _QUERY_RESULT.match(text)
    if match:
        return match.group(1).strip()
    match = _METRICS.match(text)
    if match:
        return 'count by (__name__) ({__name__=~%s})' % json.dumps(match.group(1).strip())
    raise ValueError('not a Prometheus variable query Grafana knows: %r' % text)


def queries(dashboard, name=None):
    """[dict(dashboard, panel, template)]: each target's expr and each query variable's PromQL, unsubstituted."""
    title = name or dashboard.get('title') or '?'
    found = []
    for panel in _all_panels(dashboard):
        for target in panel.get('targets') or []:
            if 'expr' in target:
                found.append(dict(dashboard=title, panel=panel.get('title') or '', template=target['expr']))
    for variable in (dashboard.get('templating') or {}).get('list') or []:
        if variable.get('type') == 'query':
            try:
                template = variable_expr(_variable_text(variable))
            except ValueError as exc:
                template = exc
            found.append(dict(dashboard=title, panel='variable %s' % variable.get('name'), template=template))
    return found


def dashboard_values(dashboard, given=None):
    """{name: value} for the dashboard's own variables: .* for query variables, the current or first value of the
    others; then the built-in ones and ``given`` (which win)."""
    values = {}
    for variable in (dashboard.get('templating') or {}).get('list') or []:
        kind, name = variable.get('type'), variable.get('name')
        if kind == 'query':
            values[name] = ALL
        elif kind in ('custom', 'constant', 'textbox', 'interval'):
            current = (variable.get('current') or {}).get('value')
            if isinstance(current, list):
                current = current[0] if current else None
            values[name] = current if current not in (None, '$__all') else str(variable.get('query', '')).split(',', 1)[0]
        elif kind == 'datasource':
            values[name] = ''
    for entry in dashboard.get('__inputs') or []:
        values.setdefault(entry.get('name'), '')
    values.update(BUILTINS)
    values.update(given or {})
    return values


def substitute(text, values):
    """``text`` with every Grafana variable replaced; KeyError names the first one ``values`` lacks."""
    def one(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name not in values:
            raise KeyError(name)
        return values[name]
    return _VARIABLE.sub(one, text)


def api_get(base_url, path, params, timeout=10.0):
    """The ``data`` of a Prometheus HTTP API answer; ValueError with Prometheus' own message when it refuses."""
    url = '%s%s?%s' % (base_url.rstrip('/'), path, urllib.parse.urlencode(params))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            body = json.loads(answer.read().decode('utf-8'))
    except urllib.error.HTTPError as exc:  # 400/422 carry a JSON body with the reason
        try:
            body = json.loads(exc.read().decode('utf-8'))
        except ValueError:
            raise ValueError('HTTP %s from %s' % (exc.code, url))
    if body.get('status') != 'success':
        raise ValueError('%s: %s' % (body.get('errorType', 'error'), body.get('error', body)))
    return body['data']


def run_query(base_url, expr, timeout=10.0):
    """(error text or None, number of series) of one instant query."""
    try:
        data = api_get(base_url, '/api/v1/query', {'query': expr}, timeout)
    except (ValueError, OSError) as exc:
        return str(exc), 0
    if data.get('resultType') in ('vector', 'matrix'):
        return None, len(data.get('result') or [])
    return None, 1  # a scalar or a string


def check(base_url, paths, given=None, timeout=10.0):
    """[dict(dashboard, panel, expr, error, series)] for every query of the dashboard files ``paths``."""
    results = []
    for path in paths:
        with open(path) as handle:
            dashboard = json.load(handle)
        values = dashboard_values(dashboard, given)
        for query in queries(dashboard):
            entry = dict(dashboard=query['dashboard'], panel=query['panel'], expr=None, error=None, series=0)
            template = query['template']
            if isinstance(template, Exception):
                entry['error'] = str(template)
            elif not template.strip():
                entry['error'] = 'empty query'
            else:
                try:
                    entry['expr'] = substitute(template, values)
                except KeyError as exc:
                    entry['expr'] = template
                    entry['error'] = 'unknown Grafana variable $%s' % exc.args[0]
                else:
                    entry['error'], entry['series'] = run_query(base_url, entry['expr'], timeout)
            results.append(entry)
    return results


def _pair(text):
    name, sep, value = text.partition('=')
    if not sep or not name:
        raise argparse.ArgumentTypeError('give NAME=VALUE, got %r' % text)
    return name, value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('url', help='Prometheus base URL, such as http://127.0.0.1:9090')
    parser.add_argument('dashboards', nargs='+', help='dashboard JSON files')
    parser.add_argument('--var', type=_pair, action='append', default=[], metavar='NAME=VALUE',
                        help='value (a regex) of a dashboard variable instead of .*')
    parser.add_argument('--require-data', action='store_true', help='a query that returns no series fails too')
    parser.add_argument('--timeout', type=float, default=10.0)
    parser.add_argument('--json', action='store_true', help='print the results as JSON')
    args = parser.parse_args(argv)
    results = check(args.url, args.dashboards, dict(args.var), args.timeout)
    failed = [r for r in results if r['error'] or (args.require_data and not r['series'])]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            status = 'ERROR' if r['error'] else ('EMPTY' if not r['series'] else 'OK')
            print('%-5s %3d series  %s / %s: %s%s' % (status, r['series'], r['dashboard'], r['panel'], r['expr'],
                                                      ('\n      ' + r['error']) if r['error'] else ''))
        print('%d queries, %d failed' % (len(results), len(failed)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

# -*- coding: utf-8 -*-
"""The monitoring role's Grafana dashboards and tests/integration/harness/dashboards.py, which runs their queries.

The dashboards: valid JSON in Grafana's import form, every panel with a data
source and a query, every query valid PromQL (promtool evaluates each one) and
every metric one that the collection's exporter, node_exporter or Prometheus
itself has; the same for the alert rules.  The harness: which queries it
finds (rows, collapsed rows, variables), how it fills Grafana's variables
in, and what it reports against a small fake Prometheus.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import json
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from ansible_collections.vmcat.libvirt.tests.unit.roles.monitoring.conftest import EXPORTER, ROLE
from ansible_collections.vmcat.libvirt.tests.unit.roles.monitoring.test_alert_rules import render, run_promtool

HARNESS = os.path.abspath(os.path.join(ROLE, '..', '..', 'tests', 'integration', 'harness'))
DASHBOARDS = [os.path.join(ROLE, 'files', 'dashboards', name)
              for name in ('vmcat-libvirt-nodes.json', 'vmcat-libvirt-vms.json')]
# node_exporter's (Debian's prometheus-node-exporter 1.5) and Prometheus' own series the dashboards and rules use
NODE_EXPORTER = {
    'node_boot_time_seconds', 'node_cpu_seconds_total', 'node_disk_read_bytes_total', 'node_disk_written_bytes_total',
    'node_filesystem_avail_bytes', 'node_filesystem_readonly', 'node_filesystem_size_bytes', 'node_load1',
    'node_load15', 'node_load5', 'node_memory_MemAvailable_bytes', 'node_memory_MemTotal_bytes',
    'node_network_receive_bytes_total', 'node_network_transmit_bytes_total'}
PROMETHEUS = {'up'}
# words of PromQL that look like metric names
PROMQL_WORDS = {'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool',
                'offset', 'inf', 'nan'}


def harness(name):
    """A module of tests/integration/harness, imported as its scripts import each other (harness dir on the path)."""
    if HARNESS not in sys.path:
        sys.path.insert(0, HARNESS)
    spec = importlib.util.spec_from_file_location(name, os.path.join(HARNESS, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def dashboards():
    return harness('dashboards')


def load(path):
    with open(path) as handle:
        return json.load(handle)


def exporter_metrics():
    """Every metric name the exporter writes: the literal ones in its source and the NIC ones it builds."""
    with open(EXPORTER) as handle:
        source = handle.read()
    names = set(re.findall(r"'(libvirt_[a-z0-9_]+)'", source))
    spec = importlib.util.spec_from_file_location('vmcat_libvirt_exporter_names', EXPORTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names.update(metric for dummy, metric, dummy in module._NIC_METRICS)
    return names


def metric_names(expr):
    """The metric names a PromQL expression reads (strings, label matchers, ranges and function names removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r'\{[^}]*\}', '', expr)
    expr = re.sub(r'\[[^\]]*\]', '', expr)
    expr = re.sub(r'\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', '', expr)
    words = re.findall(r'(?<![\w.])([a-zA-Z_:][\w:]*)\s*(\()?', expr)
    return {word for word, call in words if not call and word.lower() not in PROMQL_WORDS}


def all_rule_exprs():
    return [rule['expr'] for rule in yaml.safe_load(render())['groups'][0]['rules']]


# -- the dashboards ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('path', DASHBOARDS, ids=os.path.basename)
def test_a_dashboard_is_in_grafanas_import_form(path, dashboards):
    board = load(path)
    assert [entry['name'] for entry in board['__inputs']] == ['DS_PROMETHEUS']
    assert board['__inputs'][0]['pluginId'] == 'prometheus'
    assert 36 <= board['schemaVersion'] <= 41
    assert board['uid'] and board['title'] and board['id'] is None
    variables = dict((v['name'], v) for v in board['templating']['list'])
    assert variables['node']['definition'].startswith('label_values(')
    for variable in variables.values():
        assert variable['datasource'] == {'type': 'prometheus', 'uid': '${DS_PROMETHEUS}'}
        assert variable['multi'] and variable['includeAll'] and variable['allValue'] == '.*'
    panels = list(dashboards.walk_panels(board['panels']))
    ids = [panel['id'] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        if panel['type'] == 'row':
            continue
        assert panel['type'] in ('timeseries', 'stat', 'table'), panel['title']
        assert panel['datasource'] == {'type': 'prometheus', 'uid': '${DS_PROMETHEUS}'}, panel['title']
        assert panel['targets'], panel['title']
        for target in panel['targets']:
            assert target['expr'].strip(), panel['title']
            assert target['datasource'] == panel['datasource'], panel['title']
        ref_ids = [target['refId'] for target in panel['targets']]
        assert len(ref_ids) == len(set(ref_ids)), panel['title']


def test_the_vm_dashboard_has_a_vm_variable_within_the_chosen_nodes():
    variables = dict((v['name'], v) for v in load(DASHBOARDS[1])['templating']['list'])
    assert variables['domain']['definition'] == 'label_values(libvirt_domain_info_state{instance=~"$node(:[0-9]+)?"}, domain)'


def test_every_metric_of_the_dashboards_and_rules_exists(dashboards):
    ours = exporter_metrics()
    assert {'libvirt_up', 'libvirt_domain_info_state', 'libvirt_domain_interface_stats_receive_bytes_total'} <= ours
    exprs = all_rule_exprs()
    for path in DASHBOARDS:
        exprs.extend(query['template'] for query in dashboards.queries(load(path)))
    used = set()
    for expr in exprs:
        used |= metric_names(expr)
    unknown = sorted(used - ours - NODE_EXPORTER - PROMETHEUS)
    assert unknown == []
    assert {'libvirt_domain_guest_filesystem_used_bytes', 'node_cpu_seconds_total', 'up'} <= used


def test_metric_names_sees_through_promql():
    assert metric_names('100 * (1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{mode="idle"}[5m])))'
                        ' > 90 unless on (instance) up == 0') == {'node_cpu_seconds_total', 'up'}


def test_every_dashboard_query_is_valid_promql(tmp_path, dashboards):
    """promtool evaluates each query (variables filled in as dashboards.py does) over an empty database."""
    cases = []
    for path in DASHBOARDS:
        board = load(path)
        values = dashboards.dashboard_values(board)
        for query in dashboards.queries(board):
            expr = dashboards.substitute(query['template'], values)
            cases.append(dict(expr=expr, eval_time='1m', exp_samples=[]))
    assert len(cases) > 40
    (tmp_path / 'queries_test.yml').write_text(yaml.safe_dump(dict(
        rule_files=[], tests=[dict(interval='1m', input_series=[], promql_expr_test=cases)])))
    code, out = run_promtool('test', 'rules', 'queries_test.yml', cwd=str(tmp_path))
    assert code == 0, out


def test_promtool_finds_a_bad_query(tmp_path):
    """The check above can fail: a query with a syntax error does."""
    (tmp_path / 'queries_test.yml').write_text(yaml.safe_dump(dict(
        rule_files=[], tests=[dict(interval='1m', input_series=[], promql_expr_test=[
            dict(expr='rate(libvirt_up[1m]', eval_time='1m', exp_samples=[])])])))
    code, out = run_promtool('test', 'rules', 'queries_test.yml', cwd=str(tmp_path))
    assert code != 0 and 'parse error' in out


# -- dashboards.py ------------------------------------------------------------------------------------------------

BOARD = {
    'title': 'T',
    '__inputs': [{'name': 'DS_PROMETHEUS'}],
    'templating': {'list': [
        {'name': 'node', 'type': 'query', 'query': {'query': 'label_values(libvirt_up, instance)'}},
        {'name': 'domain', 'type': 'query', 'definition': 'label_values(libvirt_domain_info_state{instance=~"$node"}, domain)'},
        {'name': 'step', 'type': 'custom', 'query': '5m,10m', 'current': {'value': '10m'}},
        {'name': 'any', 'type': 'query', 'query': 'label_values(job)'},
        {'name': 'names', 'type': 'query', 'query': 'metrics(libvirt_.*)'},
        {'name': 'weird', 'type': 'query', 'query': 'something_else(x)'},
    ]},
    'panels': [
        {'type': 'stat', 'title': 'top', 'targets': [{'refId': 'A', 'expr': 'libvirt_up{instance=~"$node"}'}]},
        {'type': 'row', 'title': 'open row', 'panels': []},
        {'type': 'row', 'title': 'closed row', 'collapsed': True, 'panels': [
            {'type': 'timeseries', 'title': 'inner', 'targets': [
                {'refId': 'A', 'expr': 'rate(x{domain=~"${domain}"}[$__rate_interval])'},
                {'refId': 'B', 'expr': 'y{domain=~"[[domain]]"} offset $step'}]},
            {'type': 'text', 'title': 'no queries'}]},
    ],
    'rows': [{'panels': [{'type': 'graph', 'title': 'old', 'targets': [{'refId': 'A', 'expr': 'z[$__range]'}]}]}],
}


def test_queries_come_from_panels_rows_collapsed_rows_and_variables(dashboards):
    found = [(q['panel'], q['template']) for q in dashboards.queries(BOARD)]
    assert found[:4] == [
        ('top', 'libvirt_up{instance=~"$node"}'),
        ('inner', 'rate(x{domain=~"${domain}"}[$__rate_interval])'),
        ('inner', 'y{domain=~"[[domain]]"} offset $step'),
        ('old', 'z[$__range]')]
    assert found[4:8] == [
        ('variable node', 'count by (instance) (libvirt_up)'),
        ('variable domain', 'count by (domain) (libvirt_domain_info_state{instance=~"$node"})'),
        ('variable any', 'count by (job) ({job!=""})'),
        ('variable names', 'count by (__name__) ({__name__=~"libvirt_.*"})')]
    assert found[8][0] == 'variable weird' and isinstance(found[8][1], ValueError)
    assert all(q['dashboard'] == 'T' for q in dashboards.queries(BOARD))


def test_variables_are_filled_in_in_every_grafana_syntax(dashboards):
    values = dashboards.dashboard_values(BOARD, {'domain': 'web|db'})
    assert values['node'] == '.*' and values['step'] == '10m' and values['DS_PROMETHEUS'] == ''
    assert dashboards.substitute('a{n=~"$node",d=~"${domain}",e=~"[[domain]]",f=~"${domain:regex}"}', values) == \
        'a{n=~".*",d=~"web|db",e=~"web|db",f=~"web|db"}'
    assert dashboards.substitute('rate(x[$__rate_interval]) [$__interval] $__range $__range_s', values) == \
        'rate(x[1m]) [30s] 1h 3600'
    assert dashboards.substitute('x{a=~"b$"} $$', values) == 'x{a=~"b$"} $$'
    with pytest.raises(KeyError, match='nodes'):
        dashboards.substitute('$nodes', values)


class FakePrometheus(BaseHTTPRequestHandler):
    """/api/v1/query and /api/v1/query_range: ``bad`` in a query is a parse error; ``none`` returns nothing."""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        query = params.get('query', '')
        self.server.seen.append((url.path, params))
        if 'bad' in query:
            code, body = 400, dict(status='error', errorType='bad_data', error='1:5: parse error: unexpected')
        elif url.path == '/api/v1/query_range':
            start = float(params['start'])
            values = [[start + 15 * i, str(float(i))] for i in range(5)]
            code, body = 200, dict(status='success', data=dict(resultType='matrix', result=[
                dict(metric=dict(domain='web'), values=values), dict(metric=dict(domain='db'), values=values[:2])]))
        elif 'none' in query:
            code, body = 200, dict(status='success', data=dict(resultType='vector', result=[]))
        else:
            code, body = 200, dict(status='success', data=dict(resultType='vector', result=[
                dict(metric={}, value=[0, '1']), dict(metric={}, value=[0, '2'])]))
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def prometheus():
    server = ThreadingHTTPServer(('127.0.0.1', 0), FakePrometheus)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_check_reports_each_query_with_its_error_and_series(tmp_path, prometheus, dashboards):
    board = dict(title='B', templating={'list': [{'name': 'node', 'type': 'query', 'query': 'label_values(up, instance)'}]},
                 panels=[{'type': 'stat', 'title': 'fine', 'targets': [{'expr': 'up{instance=~"$node"}'}]},
                         {'type': 'stat', 'title': 'broken', 'targets': [{'expr': 'bad('}]},
                         {'type': 'stat', 'title': 'empty', 'targets': [{'expr': 'none'}]},
                         {'type': 'stat', 'title': 'typo', 'targets': [{'expr': 'up{instance=~"$nod"}'}]}])
    path = tmp_path / 'board.json'
    path.write_text(json.dumps(board))
    url = 'http://127.0.0.1:%d' % prometheus.server_address[1]
    results = dashboards.check(url, [str(path)])
    assert [(r['panel'], r['expr'], r['error'], r['series']) for r in results] == [
        ('fine', 'up{instance=~".*"}', None, 2),
        ('broken', 'bad(', 'bad_data: 1:5: parse error: unexpected', 0),
        ('empty', 'none', None, 0),
        ('typo', 'up{instance=~"$nod"}', 'unknown Grafana variable $nod', 0),
        ('variable node', 'count by (instance) (up)', None, 2)]
    assert ('/api/v1/query', {'query': 'up{instance=~".*"}'}) in prometheus.seen
    assert dashboards.main([url, str(path)]) == 1
    path.write_text(json.dumps(dict(board, panels=board['panels'][:1] + board['panels'][2:3])))
    assert dashboards.main([url, str(path), '--var', 'node=n1']) == 0
    assert ('/api/v1/query', {'query': 'up{instance=~"n1"}'}) in prometheus.seen
    assert dashboards.main([url, str(path), '--require-data', '--json']) == 1


def test_an_unreachable_prometheus_is_an_error_per_query(dashboards):
    error, series = dashboards.run_query('http://127.0.0.1:1', 'up', timeout=2)
    assert error and series == 0


# -- prom_plot.py ---------------------------------------------------------------------------------------------

def test_prom_plot_draws_the_series_it_queried(tmp_path, prometheus):
    prom_plot = harness('prom_plot')
    url = 'http://127.0.0.1:%d' % prometheus.server_address[1]
    out = tmp_path / 'plot.png'
    charts = prom_plot.plot(url, [('CPU (%)', 'cpu', '{{domain}} cpu'), ('Nothing', 'none', '')], str(out),
                            minutes=1, end=1700000060.0, step=15, width=800, chart_height=250, title='Test')
    assert [name for name, dummy in charts[0]['series']] == ['db cpu', 'web cpu']
    assert len(charts[0]['series'][1][1]) == 5
    assert prometheus.seen[0] == ('/api/v1/query_range', {'query': 'cpu', 'start': '1700000000.0',
                                                          'end': '1700000060.0', 'step': '15'})
    from PIL import Image
    with Image.open(str(out)) as image:
        assert image.format == 'PNG' and image.size == (800, 36 + 2 * 250)
        colours = dict((colour, count) for count, colour in image.convert('RGB').getcolors(1 << 20))
    for hex_colour in prom_plot.COLOURS[:2]:  # both series' lines and legend swatches are drawn
        assert colours.get(tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)), 0) > 40, hex_colour
    assert prom_plot.main([url, str(tmp_path / 'bad.png'), '--chart', 'x', 'bad(', '']) == 1


def test_prom_plot_ticks_and_legends():
    prom_plot = harness('prom_plot')
    assert prom_plot.nice_ticks(0, 87)[0] == [0, 20, 40, 60, 80, 100]
    assert prom_plot.nice_ticks(5, 5)[1:] == (5, 6)
    ticks, step = prom_plot.time_ticks(1700000000, 1700000900)
    assert step == 120 and ticks[0] == 1700000040 and ticks[-1] == 1700000880 and len(ticks) == 8  # whole minutes
    assert prom_plot.legend_text('{{domain}} {{ vcpu }}', {'domain': 'web', 'vcpu': '0'}) == 'web 0'
    assert prom_plot.legend_text('', {'b': '2', 'a': '1'}) == 'a=1, b=2'

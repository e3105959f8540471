# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Draw Prometheus range queries as line charts, stacked in one PNG (Pillow).

Usage: prom_plot.py PROMETHEUS_URL OUT.png --chart TITLE EXPR LEGEND [--chart ...]
                    [--minutes 15] [--end UNIX_TIME] [--step SECONDS] [--width 1000] [--chart-height 320]
                    [--title TEXT]

Each ``--chart`` is one panel: EXPR over the window ending at ``--end``
(default now), one line per series, named by LEGEND with ``{{label}}``
replaced by the series' labels (``{{domain}}``).  The time axis is in UTC.
Example (the integration target of the monitoring role):

    prom_plot.py http://127.0.0.1:9090 monitoring-metrics.png \\
      --chart 'CPU of its vCPUs (%)' \\
        '100 * rate(libvirt_domain_info_cpu_time_seconds_total[1m]) / libvirt_domain_info_virtual_cpus' '{{domain}}' \\
      --chart 'Memory (MiB)' 'libvirt_domain_info_memory_usage_bytes / 2^20' '{{domain}}'

Prints the PNG's path and the number of series of each chart.  Gaps in a
series (no sample for more than two steps) stay gaps.  Only Pillow and the
standard library; the HTTP call is dashboards.api_get.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time

from PIL import Image, ImageDraw, ImageFont

try:
    from harness.dashboards import api_get
except ImportError:  # run as a script: its own directory is on the path
    from dashboards import api_get

__all__ = ['draw', 'legend_text', 'nice_ticks', 'plot', 'query_range', 'time_ticks']

COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f',
           '#bcbd22']
BACKGROUND, INK, GRID, FAINT = '#ffffff', '#222222', '#e3e3e3', '#777777'
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_LABEL = re.compile(r'\{\{\s*(\w+)\s*\}\}')


def query_range(base_url, expr, start, end, step, timeout=10.0):
    """[(labels, [(unix time, value), ...])] of one range query; ValueError with Prometheus' reason when it fails."""
    data = api_get(base_url, '/api/v1/query_range', {'query': expr, 'start': start, 'end': end, 'step': step},
                   timeout)
    return [(item.get('metric', {}), [(float(t), float(v)) for t, v in item.get('values', [])])
            for item in data.get('result', [])]


def legend_text(template, labels):
    """LEGEND with each {{label}} replaced by the series' value of it (empty when it has none)."""
    if not template:
        return ', '.join('%s=%s' % item for item in sorted(labels.items())) or 'value'
    return _LABEL.sub(lambda match: str(labels.get(match.group(1), '')), template)


def nice_ticks(low, high, most=6):
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering [low, high]: (ticks, low, high)."""
    if not high > low:
        high = low + 1.0
    raw = (high - low) / max(1, most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * m for m in (1, 2, 2.5, 5, 10) if power * m >= raw)
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    count = int(round((last - first) / step))
    return [first + i * step for i in range(count + 1)], first, last


def time_ticks(start, end, most=8):
    """Tick times at a round interval (whole minutes, hours, ...) between start and end, and the interval."""
    span = max(1.0, end - start)
    step = next((s for s in _TIME_STEPS if span / s <= most), _TIME_STEPS[-1])
    first = math.ceil(start / step) * step
    return [first + i * step for i in range(int((end - first) // step) + 1)], step


def _font(size, bold=False):
    for name in (('DejaVuSans-Bold.ttf', 'LiberationSans-Bold.ttf') if bold else ('DejaVuSans.ttf',
                                                                                  'LiberationSans-Regular.ttf')):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow before 10.1: one small bitmap font
        return ImageFont.load_default()


def _number(value):
    if value == 0:
        return '0'
    if abs(value) >= 1e6 or abs(value) < 1e-2:
        return '%.2g' % value
    return ('%.2f' % value).rstrip('0').rstrip('.')


def _clock(when, step):
    return time.strftime('%H:%M:%S' if step < 60 else '%H:%M', time.gmtime(when))


def _draw_chart(draw, box, chart, start, end, fonts, legend_width):
    """One chart in ``box`` (left, top, right, bottom): title, axes, grid, lines and a legend ``legend_width`` wide."""
    left, top, right, bottom = box
    small, title_font = fonts
    draw.text((left + 8, top + 4), chart['title'], fill=INK, font=title_font)
    plot = (left + 64, top + 32, right - legend_width - 16, bottom - 28)
    x0, y0, x1, y1 = plot
    values = [v for dummy, points in chart['series'] for dummy, v in points if math.isfinite(v)]
    low = min(values + [0.0]) if values else 0.0
    high = max(values) if values else 1.0
    ticks, low, high = nice_ticks(low, high)

    def to_x(when):
        return x0 + (when - start) * (x1 - x0) / max(1e-9, end - start)

    def to_y(value):
        return y1 - (value - low) * (y1 - y0) / (high - low)

    for value in ticks:
        y = to_y(value)
        draw.line([(x0, y), (x1, y)], fill=GRID)
        text = _number(value)
        draw.text((x0 - 6 - draw.textlength(text, font=small), y - 7), text, fill=FAINT, font=small)
    tick_times, tick_step = time_ticks(start, end)
    for when in tick_times:
        x = to_x(when)
        draw.line([(x, y0), (x, y1)], fill=GRID)
        text = _clock(when, tick_step)
        draw.text((x - draw.textlength(text, font=small) / 2, y1 + 6), text, fill=FAINT, font=small)
    draw.rectangle([x0, y0, x1, y1], outline=INK)
    if not chart['series']:
        draw.text(((x0 + x1) / 2 - 30, (y0 + y1) / 2 - 7), 'no data', fill=FAINT, font=small)
    gap = 2.5 * chart.get('step', 15)
    for index, (name, points) in enumerate(chart['series']):
        colour = COLOURS[index % len(COLOURS)]
        run = []
        for when, value in points + [(math.inf, math.nan)]:
            if not math.isfinite(value) or (run and when - run[-1][2] > gap):
                if len(run) > 1:
                    draw.line([(x, y) for x, y, dummy in run], fill=colour, width=2, joint='curve')
                elif len(run) == 1:
                    x, y, dummy = run[0]
                    draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
                run = []
            if math.isfinite(value):
                run.append((to_x(when), to_y(value), when))
        ly = y0 + index * 18
        if ly + 14 <= y1:
            lx = x1 + 16
            draw.line([(lx, ly + 8), (lx + 20, ly + 8)], fill=colour, width=3)
            label = name
            while len(label) > 4 and draw.textlength(label, font=small) > legend_width - 30:
                label = label[:-2]
            draw.text((lx + 26, ly), label if label == name else label + '\u2026', fill=INK, font=small)


def draw(charts, start, end, path=None, width=1000, chart_height=320, title=None):
    """An RGB image of ``charts`` (dicts: title, series [(name, [(time, value)])], step) one above the other over
    [start, end] (unix times); saved as PNG at ``path`` when given."""
    header = 36 if title else 0
    image = Image.new('RGB', (width, header + chart_height * max(1, len(charts))), BACKGROUND)
    canvas = ImageDraw.Draw(image)
    fonts = (_font(12), _font(14, bold=True))
    if title:
        canvas.text((12, 8), title, fill=INK, font=_font(17, bold=True))
    # one legend width for all charts, so that their time axes line up
    names = [name for chart in charts for name, dummy in chart['series']]
    legend_width = min(width // 3, max([int(canvas.textlength(n, font=fonts[0])) for n in names] + [60]) + 34)
    for index, chart in enumerate(charts):
        top = header + index * chart_height
        _draw_chart(canvas, (0, top, width, top + chart_height), chart, start, end, fonts, legend_width)
    if path:
        image.save(path, 'PNG')
    return image


def plot(base_url, specs, path, minutes=15.0, end=None, step=15.0, width=1000, chart_height=320, title=None):
    """Query each (title, expr, legend) of ``specs`` over the last ``minutes`` before ``end`` and draw them into
    ``path``; returns the charts drawn (their series named)."""
    end = time.time() if end is None else end
    start = end - minutes * 60
    charts = []
    for chart_title, expr, legend in specs:
        series = query_range(base_url, expr, start, end, step)
        named = sorted((legend_text(legend, labels), points) for labels, points in series)
        charts.append(dict(title=chart_title, series=named, step=step))
    draw(charts, start, end, path, width, chart_height, title)
    return charts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('url', help='Prometheus base URL, such as http://127.0.0.1:9090')
    parser.add_argument('out', help='PNG file to write')
    parser.add_argument('--chart', nargs=3, action='append', required=True, metavar=('TITLE', 'EXPR', 'LEGEND'))
    parser.add_argument('--minutes', type=float, default=15.0, help='length of the window (default %(default)s)')
    parser.add_argument('--end', type=float, help='end of the window, unix time (default now)')
    parser.add_argument('--step', type=float, default=15.0, help='seconds between points (default %(default)s)')
    parser.add_argument('--width', type=int, default=1000)
    parser.add_argument('--chart-height', type=int, default=320)
    parser.add_argument('--title', help='a title above the charts')
    args = parser.parse_args(argv)
    try:
        charts = plot(args.url, args.chart, args.out, args.minutes, args.end, args.step, args.width,
                      args.chart_height, args.title)
    except (ValueError, OSError) as exc:
        print('prom_plot: %s' % exc, file=sys.stderr)
        return 1
    print(args.out)
    for chart in charts:
        print('  %s: %d series' % (chart['title'], len(chart['series'])))
    return 0


if __name__ == '__main__':
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vCPUs, memory and the CPU model of a domain: readers, normalisers and writers for the option table.

Sizes are bytes in the options and KiB in the definition; memory must be a
whole number of MiB (QEMU rounds it up otherwise, and the running VM would
never match).  ``vcpus``/``max_vcpus`` share ``<vcpu current=..>max</vcpu>``
and ``memory``/``max_memory`` are ``<currentMemory>``/``<memory>``; raising
a maximum alone keeps the current value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._sizes import parse_size

MIB = 1024 * 1024
CPU_MODES = ('host-passthrough', 'host-model', 'custom', 'maximum')


def _bytes_of(el):
    if el is None or el.text is None:
        return None
    return parse_size('%s %s' % (el.text.strip(), el.get('unit') or 'KiB'), 'memory')


def _set_kib(root, tag, value, after=None):
    el = root.find(tag)
    if el is None:
        el = _xml.element(tag)
        anchor = root.find(after) if after else None
        if anchor is not None:
            anchor.addnext(el)
        else:
            root.append(el)
    el.set('unit', 'KiB')
    el.text = str(value // 1024)


def read_max_vcpus(root):
    return _xml.int_of(root, 'vcpu', 1)


def read_vcpus(root):
    el = root.find('vcpu')
    if el is None:
        return 1
    return int(el.get('current') or el.text.strip())


def positive(what):
    def normalise(value, current, env):
        if value < 1:
            raise InvalidInput('%s must be at least 1, got %d' % (what, value))
        return value
    return normalise


def write_max_vcpus(root, value, env=None):
    el = _xml.ensure(root, 'vcpu')
    if el.text and el.get('current') is None:
        el.set('current', el.text.strip())  # raising the maximum alone keeps the vCPUs the VM has
    el.text = str(value)
    if el.get('current') == str(value):
        del el.attrib['current']


def write_vcpus(root, value, env=None):
    el = _xml.ensure(root, 'vcpu')
    if not el.text:
        el.text = str(value)
    if int(el.text) == value:
        el.attrib.pop('current', None)
    else:
        el.set('current', str(value))


def read_max_memory(root):
    return _bytes_of(root.find('memory'))


def read_memory(root):
    return _bytes_of(root.find('currentMemory')) or read_max_memory(root)


def size_of(what):
    def normalise(value, current, env):
        size = parse_size(value, what)
        if size < 16 * MIB:
            raise InvalidInput('%s %s is too small; give at least 16 MiB' % (what, value))
        if size % MIB:
            raise InvalidInput('%s must be a whole number of MiB (QEMU rounds it up otherwise), got %s' % (what, value))
        return size
    return normalise


def write_max_memory(root, value, env=None):
    if root.find('memory') is not None and root.find('currentMemory') is None:
        _set_kib(root, 'currentMemory', read_max_memory(root), after='memory')
    _set_kib(root, 'memory', value, after='name')


def write_memory(root, value, env=None):
    if root.find('memory') is None:
        _set_kib(root, 'memory', value, after='name')
    _set_kib(root, 'currentMemory', value, after='memory')


def read_cpu(root):
    el = root.find('cpu')
    if el is None:
        return None
    mode = el.get('mode') or 'custom'
    topo = el.find('topology')
    topology = None
    if topo is not None:
        topology = dict((k, int(topo.get(k) or 1)) for k in ('sockets', 'dies', 'cores', 'threads'))
    return {'mode': mode, 'model': _xml.text_of(el, 'model') if mode == 'custom' else None, 'topology': topology}


def normalise_cpu(value, current, env):
    out = dict(current or {'mode': None, 'model': None, 'topology': None})
    if value.get('mode'):
        out['mode'] = value['mode']
        if value['mode'] != 'custom':
            out['model'] = None
    if value.get('model'):
        if value.get('mode') not in (None, 'custom'):
            raise InvalidInput('cpu.model applies to cpu.mode custom (got mode %s)' % value['mode'])
        out.update(mode='custom', model=value['model'])
    if out['mode'] == 'custom' and not out['model']:
        raise InvalidInput('cpu.mode custom needs cpu.model (such as qemu64, Haswell or EPYC)')
    if out['mode'] is None:
        raise InvalidInput('cpu needs mode (or model for a custom CPU)')
    topo = value.get('topology')
    if topo:
        out['topology'] = {'sockets': topo['sockets'], 'dies': topo.get('dies') or 1,
                           'cores': topo['cores'], 'threads': topo['threads']}
        if min(out['topology'].values()) < 1:
            raise InvalidInput('cpu.topology values must be at least 1')
    return out


def write_cpu(root, value, env=None):
    el = root.find('cpu')
    if el is None:
        el = _xml.element('cpu')
        anchor = root.find('features') if root.find('features') is not None else root.find('os')
        if anchor is not None:
            anchor.addnext(el)
        else:
            root.append(el)
    if el.get('mode') != value['mode']:
        for attr in ('match', 'check', 'migratable'):
            el.attrib.pop(attr, None)
        el.set('mode', value['mode'])
    if value['mode'] == 'custom':
        model = _xml.ensure(el, 'model')
        model.text = value['model']
        el.set('match', el.get('match') or 'exact')
    else:
        _xml.remove_all(el, 'model')
        _xml.remove_all(el, 'vendor')
    _xml.remove_all(el, 'topology')
    if value.get('topology'):
        topo = _xml.element('topology', **dict((k, value['topology'][k]) for k in ('sockets', 'dies', 'cores', 'threads')))
        _xml.insert_after(el, topo, el.find('model'))


def same_cpu_live(live_value, config_value):
    """A running host-model CPU shows as the custom model libvirt expanded it to: compare the topology only."""
    if live_value and config_value and config_value['mode'] == 'host-model' and live_value['mode'] == 'custom':
        return live_value['topology'] == config_value['topology']
    return live_value == config_value

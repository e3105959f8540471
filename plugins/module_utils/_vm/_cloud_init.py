# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud-init NoCloud seeds: render user-data, meta-data and network-config, store them as an ISO volume.

A seed is an ISO9660 image labelled ``cidata`` (written by ``_iso9660``)
holding ``user-data``, ``meta-data`` and, when given, ``network-config``.
It is kept as the volume ``<vm name>-cidata.iso`` in a pool, uploaded with a
libvirt stream, so it works over remote URIs too.  This file renders the
seed and plans its disk; ``_seed_volume`` stores it (imported only by tasks
that have a seed to store).

Idempotency: the primary volume descriptor's application-use field carries
``vmcat-seed/1 sha256:<hex>``, a hash of what the seed says (the rendered
data, not its YAML formatting).  Reading the first 17 sectors of the
existing volume through a libvirt stream tells whether it already holds the
wanted seed; a changed seed is rewritten in place (so a running VM, whose
QEMU keeps the file open, sees it after a guest reboot), an unchanged one is
left alone, and a volume of that name without the marker is never
overwritten.

instance-id: cloud-init runs its per-instance modules again whenever the
instance-id changes, so the default is stable per VM (``iid-<vm name>``)
and does not follow the content; set ``instance_id`` to make cloud-init
treat the VM as new.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

import importlib.util

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput

# PyYAML is imported when a seed is rendered (_yaml), not with this file: the vm module imports this file for its
# options, and a vm task without cloud_init should not pay PyYAML's import (about 10 ms; bench/README.md, issue 15).
# JSON is YAML too; it is written when PyYAML is missing.
HAS_YAML = importlib.util.find_spec('yaml') is not None

LABEL = 'cidata'
MARKER = b'vmcat-seed/1 sha256:'
BUSES = ('ide', 'sata', 'scsi')
DEFAULT_TARGETS = {'ide': 'hdc', 'sata': 'sdc', 'scsi': 'sdc'}
_TARGET_PREFIX = {'ide': 'hd', 'sata': 'sd', 'scsi': 'sd'}
_CLOUD_CONFIG = '#cloud-config'
_CLOUD_CONFIG_START = re.compile(r'#cloud-config(?![-\w])')
_HOSTNAME_LABEL = re.compile(r'^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', re.IGNORECASE)


def seed_volume_name(vm_name):
    """The name of a VM's seed volume."""
    return '%s-cidata.iso' % vm_name


# -- rendering --------------------------------------------------------------------
def _plain(value, what):
    """Plain JSON types (str subclasses, tuples and the like made plain), or InvalidInput."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise InvalidInput('%s cannot be written as YAML: %s' % (what, exc))


def _yaml():
    import yaml
    return yaml


def to_yaml(data):
    """Block-style YAML for a dict (JSON, which is YAML too, when PyYAML is missing)."""
    if HAS_YAML:
        return _yaml().safe_dump(data, default_flow_style=False, sort_keys=False, allow_unicode=True, width=4096)
    return json.dumps(data, indent=2, ensure_ascii=False) + '\n'


def valid_hostname(name):
    return len(name) <= 253 and all(_HOSTNAME_LABEL.match(label) for label in name.split('.'))


def default_hostname(vm_name):
    """The VM name made into a host name (letters, digits and '-'), or None when nothing is left."""
    name = re.sub(r'[^a-z0-9-]+', '-', vm_name.lower()).strip('-')[:63].strip('-')
    return name or None


def is_cloud_config(text):
    """Whether cloud-init reads ``text`` as a #cloud-config document (as it does: blanks before it and case aside).

    ``#cloud-config-archive`` and ``#cloud-config-jsonp`` are other formats.
    """
    return _CLOUD_CONFIG_START.match(text.lstrip().lower()) is not None


def _cloud_config_text(text, merging=True):
    """A '#cloud-config' text parsed into a dict; InvalidInput when it is not a YAML mapping.

    Without PyYAML a text can only be checked when something is to be merged into it (``merging``), which then
    needs PyYAML; otherwise None is returned (the text is written as given).
    """
    if not HAS_YAML:
        if not merging:
            return None
        raise InvalidInput('merging ssh_authorized_keys or password into a #cloud-config text needs PyYAML on the '
                           'host running the module; give user_data as a dict instead')
    fix = ('; cloud-init ignores a #cloud-config document it cannot read, so the VM would boot unconfigured: fix '
           'the document, or give cloud_init.user_data as a dict')
    yaml = _yaml()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput('cloud_init.user_data starts with #cloud-config but is not valid YAML: %s%s'
                           % (' '.join(str(exc).split()), fix))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput('cloud_init.user_data starts with #cloud-config but is not a YAML mapping (it is a %s)%s'
                           % (type(data).__name__, fix))
    return data


def _user_data(cloud_init):
    """('cloud-config', dict) or ('text', str): what user-data says."""
    data = cloud_init.get('user_data')
    keys = list(cloud_init.get('ssh_authorized_keys') or [])
    password = cloud_init.get('password')
    if data is not None and not isinstance(data, (dict, str)):
        raise InvalidInput('cloud_init.user_data must be a dict (written as #cloud-config YAML) or a text '
                           '(a #cloud-config document, a script, a MIME multipart ...), not %s' % type(data).__name__)
    if isinstance(data, str) and not (keys or password is not None):
        if is_cloud_config(data):
            _cloud_config_text(data, merging=False)  # checked, but written as given
        return 'text', data
    if isinstance(data, str):
        if not is_cloud_config(data):
            raise InvalidInput('cloud_init.ssh_authorized_keys and cloud_init.password are merged into a '
                               '#cloud-config document, but user_data is another kind of text (a script or '
                               'MIME multipart?); give user_data as a dict, or put the keys and password in '
                               'your own user_data')
        config = _cloud_config_text(data)
    else:
        config = _plain(data or {}, 'cloud_init.user_data')
    if keys:
        have = config.get('ssh_authorized_keys') or []
        if not isinstance(have, list):
            raise InvalidInput('user_data.ssh_authorized_keys must be a list to merge cloud_init.ssh_authorized_keys into it')
        config['ssh_authorized_keys'] = have + [k for k in keys if k not in have]
    if password is not None:
        config['password'] = password
        config.setdefault('chpasswd', {'expire': False})
    return 'cloud-config', config


def _meta_data(vm_name, cloud_init):
    meta = _plain(dict(cloud_init.get('meta_data') or {}), 'cloud_init.meta_data')
    instance_id = cloud_init.get('instance_id')
    if instance_id is not None and meta.get('instance-id') not in (None, instance_id):
        raise InvalidInput("cloud_init.instance_id '%s' and cloud_init.meta_data.instance-id '%s' differ; set one"
                           % (instance_id, meta['instance-id']))
    meta['instance-id'] = str(instance_id or meta.get('instance-id') or 'iid-%s' % vm_name)
    hostname = cloud_init.get('hostname')
    if hostname is not None and meta.get('local-hostname') not in (None, hostname):
        raise InvalidInput("cloud_init.hostname '%s' and cloud_init.meta_data.local-hostname '%s' differ; set one"
                           % (hostname, meta['local-hostname']))
    hostname = hostname or meta.get('local-hostname') or default_hostname(vm_name)
    if hostname is not None:
        if not valid_hostname(str(hostname)):
            raise InvalidInput("cloud_init.hostname '%s' is not a valid host name: letters, digits and '-', labels "
                               "of up to 63 characters separated by dots" % hostname)
        meta['local-hostname'] = str(hostname)
    return meta


def _network_config(cloud_init):
    data = cloud_init.get('network_config')
    if data is None or isinstance(data, str):
        return data
    if not isinstance(data, dict):
        raise InvalidInput('cloud_init.network_config must be a dict (network config version 1 or 2) or a YAML '
                           'text, not %s' % type(data).__name__)
    data = _plain(data, 'cloud_init.network_config')
    inner = data.get('network') if isinstance(data.get('network'), dict) else data
    if inner.get('version') not in (1, 2):
        raise InvalidInput("cloud_init.network_config needs 'version: 1' or 'version: 2' (cloud-init's network "
                           "config formats), got %r" % (inner.get('version'),))
    return data


class Seed:
    """A rendered seed: its files (name -> bytes) and the hash of what they say."""

    def __init__(self, files, semantic):
        self.files = files
        self.key = hashlib.sha256(json.dumps(
            {'format': 1, 'label': LABEL, 'files': semantic}, sort_keys=True, separators=(',', ':'),
            ensure_ascii=False).encode('utf-8')).hexdigest()

    @property
    def marker(self):
        return MARKER + self.key.encode('ascii')


def render_seed(vm_name, cloud_init):
    """The Seed for a VM's cloud_init options; InvalidInput when they are wrong."""
    kind, user = _user_data(cloud_init)
    meta = _meta_data(vm_name, cloud_init)
    network = _network_config(cloud_init)
    text = user if kind == 'text' else '%s\n%s' % (_CLOUD_CONFIG, to_yaml(user))
    files = {'meta-data': to_yaml(meta).encode('utf-8'), 'user-data': text.encode('utf-8')}
    semantic = {'meta-data': meta, 'user-data': [kind, user]}
    if network is not None:
        files['network-config'] = (network if isinstance(network, str) else to_yaml(network)).encode('utf-8')
        semantic['network-config'] = network
    return Seed(files, semantic)


# -- the disk ---------------------------------------------------------------------------
def default_bus(machine=None, arch=None):
    """ide on i440fx ('pc'), the default x86 machine; sata on q35; scsi elsewhere (aarch64 'virt', ...)."""
    machine = (machine or '').lower()
    if 'q35' in machine:
        return 'sata'
    if arch not in (None, 'x86_64', 'i686'):
        return 'scsi'
    if not machine or machine == 'pc' or machine.startswith('pc-'):
        return 'ide'
    return 'scsi'


def seed_disk(vm_name, pool_name, cloud_init, machine=None, arch=None):
    """The cdrom disk entry (vm module disk shape) that carries the seed."""
    bus = cloud_init.get('bus') or default_bus(machine, arch)
    if bus not in BUSES:
        raise InvalidInput('cloud_init.bus must be one of %s, got %s' % (', '.join(BUSES), bus))
    target = cloud_init.get('target') or DEFAULT_TARGETS[bus]
    if not re.match(r'^%s[a-z]+$' % _TARGET_PREFIX[bus], target):
        raise InvalidInput("cloud_init.target '%s' does not fit bus %s; use a name like %s"
                           % (target, bus, DEFAULT_TARGETS[bus]))
    return {'target': target, 'device': 'cdrom', 'bus': bus, 'pool': pool_name,
            'volume': seed_volume_name(vm_name), 'format': 'raw', 'readonly': True}

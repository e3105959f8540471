# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage pools: read their state, converge a definition, remove them safely.

The cycle: read the pool -> edit a copy of its definition with the options
the task sets (unset options leave the definition alone; unknown parts of
the XML survive) -> compare the two as option-shaped dicts -> define, start,
set autostart, restart (each through the check-mode guard) -> report.

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._connection import definition_xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._errors import InvalidInput, Refused
from ansible_collections.vmcat.libvirt.plugins.module_utils._module import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._usage import volume_users

POOL_TYPES = ('dir', 'fs', 'netfs', 'logical', 'disk', 'iscsi')
# What each type needs in <source>, for checks before anything changes.
_REQUIRED_SOURCE = {
    'fs': ('device',),
    'netfs': ('host', 'dir'),
    'disk': ('device',),
    'iscsi': ('host', 'device'),
}
_STATES = {0: 'inactive', 1: 'building', 2: 'running', 3: 'degraded', 4: 'inaccessible'}
_INACTIVE_XML = 1  # VIR_STORAGE_XML_INACTIVE
_BUILD_NO_OVERWRITE = 4  # VIR_STORAGE_POOL_BUILD_NO_OVERWRITE (8 would be ..._OVERWRITE: reformat)


# -- reading ----------------------------------------------------------------
def spec_of(root):
    """The option-shaped view of a pool definition (only what the module manages)."""
    source = root.find('source')
    src = {}
    if source is not None:
        host = source.find('host')
        src = {
            'host': host.get('name') if host is not None else None,
            'port': int(host.get('port')) if host is not None and host.get('port') else None,
            'dir': _xml.attr_of(source, 'dir', 'path'),
            'device': [d.get('path') for d in source.findall('device')] or None,
            'name': _xml.text_of(source, 'name'),
            'format': _xml.attr_of(source, 'format', 'type'),
        }
    perms = root.find('target/permissions')
    return {
        'name': _xml.text_of(root, 'name'),
        'type': root.get('type'),
        'target': {
            'path': _xml.text_of(root, 'target/path'),
            'owner': _int_or_none(_xml.text_of(perms, 'owner')),
            'group': _int_or_none(_xml.text_of(perms, 'group')),
            'mode': _mode(_xml.text_of(perms, 'mode')),
        },
        'source': dict((k, v) for k, v in src.items() if v is not None),
    }


def _int_or_none(text):
    if text is None or int(text) < 0:  # libvirt writes -1 for "not set"
        return None
    return int(text)


def _mode(text):
    return None if text is None else '%04o' % int(text, 8)


def describe(pool, with_volumes=True):
    """Everything pool/pool_info return about one pool."""
    root = _xml.parse(definition_xml(pool, _INACTIVE_XML))
    state, capacity, allocation, available = pool.info()
    info = spec_of(root)
    active = bool(pool.isActive())
    info.update(
        uuid=pool.UUIDString(),
        state=_STATES.get(state, str(state)),
        active=active,
        autostart=bool(pool.autostart()),
        persistent=bool(pool.isPersistent()),
        capacity=capacity,
        allocation=allocation,
        available=available,
    )
    if with_volumes:
        names = sorted(pool.listVolumes()) if active else []
        info.update(volume_count=len(names) if active else None, volumes=names)
    return info


def list_pools(ctx, name=None):
    pools = [ctx.conn.require_pool(name)] if name else ctx.conn.all_pools()
    with ctx.conn.translated('read', 'storage pools'):
        return [describe(p) for p in sorted(pools, key=lambda p: p.name())]


# -- building and editing the definition -------------------------------------
def validate(params):
    """Refuse bad input before anything changes."""
    if params['state'] == 'absent':
        return
    ptype = params.get('type') or 'dir'
    target = params.get('target') or {}
    if ptype in ('dir', 'fs', 'netfs') and params.get('_exists') is False and not target.get('path'):
        raise InvalidInput("pool '%s' of type %s needs target.path (the directory it lives in)" % (params['name'], ptype))
    if target.get('path') and not target['path'].startswith('/'):
        raise InvalidInput("pool '%s': target.path must be absolute, got '%s'" % (params['name'], target['path']))
    mode = target.get('mode')
    if mode is not None:
        try:
            if not 0 <= int(str(mode), 8) <= 0o7777:
                raise ValueError
        except ValueError:
            raise InvalidInput("pool '%s': target.mode must be an octal mode such as '0755', got '%s'"
                               % (params['name'], mode))
    if params.get('_exists') is False:
        source = params.get('source') or {}
        missing = [k for k in _REQUIRED_SOURCE.get(ptype, ()) if not source.get(k)]
        if ptype == 'logical' and not (source.get('name') or source.get('device')):
            missing.append('name or device')
        if missing:
            raise InvalidInput("pool '%s' of type %s needs source.%s" % (params['name'], ptype, ', source.'.join(missing)))


def apply_options(root, params):
    """Edit a pool definition in place with the options the task sets."""
    target = params.get('target') or {}
    if any(target.get(k) is not None for k in ('path', 'owner', 'group', 'mode')):
        tgt = _xml.ensure(root, 'target')
        if target.get('path') is not None:
            _xml.ensure(tgt, 'path').text = target['path']
        perm_keys = [k for k in ('mode', 'owner', 'group') if target.get(k) is not None]
        if perm_keys:
            perms = _xml.ensure(tgt, 'permissions')
            for key in perm_keys:
                value = target[key]
                _xml.ensure(perms, key).text = '%04o' % int(str(value), 8) if key == 'mode' else str(value)
    source = dict((k, v) for k, v in (params.get('source') or {}).items() if v is not None)
    if source:
        src = _xml.ensure(root, 'source')
        if 'host' in source or 'port' in source:
            host = _xml.ensure(src, 'host')
            if 'host' in source:
                host.set('name', source['host'])
            if 'port' in source:
                host.set('port', str(source['port']))
        if 'dir' in source:
            _xml.ensure(src, 'dir').set('path', source['dir'])
        if 'device' in source:
            _xml.remove_all(src, 'device')
            for path in source['device']:
                _xml.sub(src, 'device', path=path)
        if 'name' in source:
            _xml.ensure(src, 'name').text = source['name']
        if 'format' in source:
            _xml.ensure(src, 'format').set('type', source['format'])
    return root


def new_definition(params):
    root = _xml.element('pool', type_=params.get('type') or 'dir')
    _xml.sub(root, 'name', params['name'])
    return apply_options(root, params)


# -- the change cycle ---------------------------------------------------------
def _predicted(spec, active, autostart, old=None):
    """What pool would return after a change made in check mode."""
    view = dict(old or {})
    view.update(spec)
    view.update(active=active, autostart=autostart)
    return view


def ensure(ctx):
    """Converge a pool to the task's options; returns an Outcome."""
    params = ctx.params
    if params['state'] == 'absent':
        return _ensure_absent(ctx)
    conn = ctx.conn
    name = params['name']
    pool = conn.pool(name)
    validate(dict(params, _exists=pool is not None))
    if pool is None:
        return _create(ctx)

    before = describe(pool)
    if params.get('type') and params['type'] != before['type']:
        raise Refused("pool '%s' on %s is of type %s; a pool's type cannot change to %s. Remove it with "
                      "state: absent and define it again" % (name, conn.uri, before['type'], params['type']))
    current_xml = _xml.parse(definition_xml(pool, _INACTIVE_XML))
    wanted_xml = apply_options(_xml.parse(_xml.to_string(current_xml)), params)
    changed = False
    what = "pool '%s'" % name
    if spec_of(wanted_xml) != spec_of(current_xml):
        with conn.translated('redefine', what, 'libvirt refused the new definition for this pool; '
                             'remove the pool and define it again if the change is structural'):
            ctx.act('define', conn.virt.storagePoolDefineXML, _xml.to_string(wanted_xml), 0)
        changed = True

    active, autostart = before['active'], before['autostart']
    want_active = params.get('active')
    restart_required = False
    if active and (changed or _has_pending_definition(pool)):
        restart_required = True
        if params.get('restart') and want_active is not False:
            _restart(ctx, pool, before['type'])
            changed, restart_required = True, False
    if want_active is True and not active:
        _start(ctx, pool, params, before['type'])
        active, changed = True, True
    elif want_active is False and active:
        with conn.translated('stop', what):
            ctx.act('stop', pool.destroy)
        active, changed, restart_required = False, True, False
    if params.get('autostart') is not None and params['autostart'] != autostart:
        with conn.translated('set autostart of', what):
            ctx.act('autostart', pool.setAutostart, int(params['autostart']))
        autostart, changed = params['autostart'], True

    after = describe(pool) if (changed and not ctx.check_mode) else \
        _predicted(spec_of(wanted_xml), active, autostart, before)
    return Outcome(changed, before, after, restart_required=restart_required, actions=ctx.actions)


def _has_pending_definition(pool):
    """True when the saved definition of an active pool differs from the running one.

    The running definition reports the target's real owner, group and mode,
    so only the permissions the saved definition sets are compared.
    """
    if not pool.isPersistent():
        return False
    live = spec_of(_xml.parse(pool.XMLDesc(0)))
    saved = spec_of(_xml.parse(definition_xml(pool, _INACTIVE_XML)))
    for key, value in saved['target'].items():
        if value is None:
            live['target'][key] = None
    return live != saved


def _restart(ctx, pool, pool_type):
    """Stop and start a pool so its saved definition applies; a dir pool is rebuilt to apply permissions."""
    with ctx.conn.translated('restart', "pool '%s'" % pool.name(),
                             'the new definition is saved and applies when the pool restarts'):
        ctx.act('stop', pool.destroy)
        if pool_type == 'dir':  # building a dir pool only creates the directory and sets its owner and mode
            ctx.act('build', pool.build, 0)
        ctx.act('start', pool.create, 0)


def _start(ctx, pool, params, pool_type):
    name = pool.name()
    if params.get('build'):
        with ctx.conn.translated('build', "pool '%s'" % name,
                                 'build never overwrites existing data; clear the device or directory by hand '
                                 'if you really want it reformatted'):
            ctx.act('build', pool.build, 0 if pool_type == 'dir' else _BUILD_NO_OVERWRITE)
    with ctx.conn.translated('start', "pool '%s'" % name,
                             'check that the target exists (set build: true to create it) and the source is reachable'):
        ctx.act('start', pool.create, 0)


def _create(ctx):
    params = ctx.params
    conn = ctx.conn
    root = new_definition(params)
    name = params['name']
    active = params.get('active') is not False
    autostart = params.get('autostart') is not False
    if ctx.check_mode:
        ctx.actions.extend(['define'] + (['build'] if params.get('build') and active else []) +
                           (['start'] if active else []) + (['autostart'] if autostart else []))
        return Outcome(True, None, _predicted(spec_of(root), active, autostart, {'volumes': [], 'volume_count': 0}),
                       restart_required=False, actions=ctx.actions)
    with conn.translated('define', "pool '%s'" % name, 'check the pool options against the type %s' % root.get('type')):
        pool = ctx.act('define', conn.virt.storagePoolDefineXML, _xml.to_string(root), 0)
    try:
        if active:
            _start(ctx, pool, params, root.get('type'))
        if autostart:
            with conn.translated('set autostart of', "pool '%s'" % name):
                ctx.act('autostart', pool.setAutostart, 1)
    except Exception:
        # A failure midway leaves nothing half-made: drop the new definition.
        try:
            if pool.isActive():
                pool.destroy()
            pool.undefine()
        except Exception:
            pass
        raise
    return Outcome(True, None, describe(pool), restart_required=False, actions=ctx.actions)


def _ensure_absent(ctx):
    params = ctx.params
    conn = ctx.conn
    name = params['name']
    pool = conn.pool(name)
    if pool is None:
        return Outcome(False, None, None, actions=[])
    before = describe(pool)
    what = "pool '%s'" % name
    if before['active'] and before['volumes']:
        if not params.get('purge'):
            raise Refused("pool '%s' on %s still holds %d volume(s): %s; delete them first, or set purge: true "
                          "to delete them with the pool" % (name, conn.uri, len(before['volumes']),
                                                            ', '.join(before['volumes'])))
        _refuse_used_volumes(conn, pool, name)
        for vol_name in before['volumes']:
            vol = conn.volume(pool, vol_name)
            with conn.translated('delete', "volume '%s' in pool '%s'" % (vol_name, name)):
                ctx.act('delete volume %s' % vol_name, vol.delete, 0)
    if before['active']:
        with conn.translated('stop', what):
            ctx.act('stop', pool.destroy)
    if params.get('purge') and before['type'] == 'dir':
        with conn.translated('delete the directory of', what, 'the directory must be empty; remove what is left by hand'):
            ctx.act('delete target directory', pool.delete, 0)
    if before['persistent']:
        with conn.translated('undefine', what):
            ctx.act('undefine', pool.undefine)
    return Outcome(True, before, None, actions=ctx.actions)


def _refuse_used_volumes(conn, pool, pool_name):
    used = []
    for vol in pool.listAllVolumes(0):
        users = volume_users(conn, pool_name, vol.name(), vol.path())
        if users:
            used.append("'%s' (used by %s)" % (vol.name(), ', '.join(users)))
    if used:
        raise Refused("pool '%s' on %s: purge refused because VMs use its volumes: %s; detach them or remove "
                      "those VMs first" % (pool_name, conn.uri, '; '.join(used)))

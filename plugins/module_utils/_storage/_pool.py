# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage pools: converge a definition, remove them safely (reading them: ``_pool_read``).

The cycle: read the pool -> edit a copy of its definition with the options
the task sets (unset options leave the definition alone; unknown parts of
the XML survive) -> compare the two as option-shaped dicts -> define, start,
set autostart, restart (each through the check-mode guard) -> report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._definitions import definition_xml, drop_quietly
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import (
    InvalidInput, LibvirtError, Refused, VmcatError, is_libvirt_error, libvirt_message)
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._object_names import check_object_name
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._stale_check import still_as_read
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._usage import running_pool_users, volume_users
from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._pool_read import INACTIVE_XML, READ_HINT, describe, spec_of

POOL_TYPES = ('dir', 'fs', 'netfs', 'logical', 'disk', 'iscsi')
# What each type needs in <source>, for checks before anything changes.
_REQUIRED_SOURCE = {
    'fs': ('device',),
    'netfs': ('host', 'dir'),
    'disk': ('device',),
    'iscsi': ('host', 'device'),
}
_BUILD_NO_OVERWRITE = 4  # VIR_STORAGE_POOL_BUILD_NO_OVERWRITE (8 would be ..._OVERWRITE: reformat)
_OCTAL_MODE = re.compile(r'^0*[0-7]{1,4}\Z')
# Advice for libvirt errors, by what failed.
_STOP_HINT = ("stop what holds the pool's storage busy (a process with files open in an fs or netfs mount, "
              'an LVM volume in use) and retry')
_FILE_POOLS = ('dir', 'fs', 'netfs')
_AUTOSTART_HINT = ('only a persistent (defined) pool can autostart; check that libvirt may write its autostart '
                   'link on the node (/etc/libvirt/storage/autostart/)')


# -- building and editing the definition -------------------------------------
def check_name(name, uri):
    """Refuse a pool name libvirt would reject or that would make a confusing pool, before anything is looked up."""
    return check_object_name('pool', name, uri, 'images')


def mode_of(value, name='?'):
    """The target mode as an int, read the way ansible.builtin.file reads ``mode``.

    An int is a mode already decoded (YAML reads an unquoted 0755 as 493);
    a string is octal ('0755', '755').  Anything else (symbolic modes, digits
    8 or 9, booleans, floats) is refused, and so are modes above 0o777: libvirt
    keeps no setuid, setgid or sticky bit for a pool's target.
    """
    mode = None
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str) and _OCTAL_MODE.match(value):
        mode = int(value, 8)
    if mode is None or not 0 <= mode <= 0o777:
        raise InvalidInput(
            "pool '%s': target.mode %r is not an octal mode libvirt accepts: write it as a quoted octal string "
            "such as '0755' (or '755'), not above '0777' (libvirt keeps no setuid, setgid or sticky bit for a "
            "pool); symbolic modes such as 'u=rwx,go=rx' are not supported, and an unquoted number is taken as "
            "it is (YAML reads 0755 as octal, but 755 as decimal)" % (name, value))
    return mode


def validate(params, uri=None):
    """Refuse bad input before anything changes."""
    check_name(params['name'], uri)
    if params['state'] == 'absent':
        return
    ptype = params.get('type') or 'dir'
    target = params.get('target') or {}
    if ptype in ('dir', 'fs', 'netfs') and params.get('_exists') is False and not target.get('path'):
        raise InvalidInput("pool '%s' of type %s needs target.path (the directory it lives in)" % (params['name'], ptype))
    if target.get('path') and not target['path'].startswith('/'):
        raise InvalidInput("pool '%s': target.path must be absolute, got '%s'" % (params['name'], target['path']))
    if target.get('mode') is not None:
        mode_of(target['mode'], params['name'])
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
                _xml.ensure(perms, key).text = '%04o' % mode_of(value, params.get('name')) if key == 'mode' else str(value)
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
def _read(conn, what, fn, *args):
    """A read of the pool (its XML, info, volumes) whose libvirt errors name the pool and the URI."""
    with conn.translated('read', what, READ_HINT):
        return fn(*args)


def _predicted(spec, active, autostart, old=None):
    """What pool would return after a change made in check mode."""
    view = dict(old or {})
    view.update(spec)
    view.update(active=active, autostart=autostart)
    return view


def ensure(ctx):
    """Converge a pool to the task's options; returns an Outcome."""
    params = ctx.params
    conn = ctx.conn
    check_name(params['name'], conn.uri)
    if params['state'] == 'absent':
        return _ensure_absent(ctx)
    name = params['name']
    pool = conn.pool(name)
    validate(dict(params, _exists=pool is not None), conn.uri)
    if pool is None:
        return _create(ctx)

    what = "pool '%s'" % name
    before = _read(conn, what, describe, pool)
    if params.get('type') and params['type'] != before['type']:
        raise Refused("pool '%s' on %s is of type %s; a pool's type cannot change to %s. Remove it with "
                      "state: absent and define it again" % (name, conn.uri, before['type'], params['type']))
    if before['active'] and params.get('active') is False:
        _refuse_stop_if_used(ctx, pool, before)
    current_xml = _xml.parse(_read(conn, what, definition_xml, pool, INACTIVE_XML))
    wanted_xml = apply_options(_xml.parse(_xml.to_string(current_xml)), params)
    changed = False
    if spec_of(wanted_xml) != spec_of(current_xml):
        still_as_read(ctx, what, lambda: _xml.parse(definition_xml(pool, INACTIVE_XML)), current_xml)
        with conn.translated('redefine', what, 'libvirt refused the new definition for this pool; '
                             'remove the pool and define it again if the change is structural'):
            ctx.act('define', conn.virt.storagePoolDefineXML, _xml.to_string(wanted_xml), 0)
        changed = True

    active, autostart = before['active'], before['autostart']
    want_active = params.get('active')
    restart_required = False
    if active and (changed or _read(conn, what, _has_pending_definition, pool)):
        restart_required = True
        if params.get('restart') and want_active is not False:
            _restart(ctx, pool, before['type'])
            changed, restart_required = True, False
    if want_active is True and not active:
        _start(ctx, pool, params, before['type'])
        active, changed = True, True
    elif want_active is False and active:
        with conn.translated('stop', what, _STOP_HINT):
            ctx.act('stop', pool.destroy)
        active, changed, restart_required = False, True, False
    if params.get('autostart') is not None and params['autostart'] != autostart:
        with conn.translated('set autostart of', what, _AUTOSTART_HINT):
            ctx.act('autostart', pool.setAutostart, int(params['autostart']))
        autostart, changed = params['autostart'], True

    after = ctx.after(changed, lambda: _read(conn, what, describe, pool),
                      lambda: _predicted(spec_of(wanted_xml), active, autostart, before))
    return Outcome(changed, before, after, restart_required=restart_required, actions=ctx.actions)


def _refuse_stop_if_used(ctx, pool, before):
    """Stopping a pool whose volumes running VMs use is refused unless force, as for networks (before any change)."""
    if ctx.params.get('force'):
        return
    conn = ctx.conn
    name = pool.name()
    target = before['target'].get('path') if before['type'] in _FILE_POOLS else None
    with conn.translated('find the running VMs that use', "pool '%s'" % name,
                         "nothing was changed; check that this user may read the node's VM definitions, or set "
                         'force: true to skip this check'):
        paths = [vol.path() for vol in pool.listAllVolumes(0)]
        users = running_pool_users(conn, name, paths, os.path.normpath(target) if target else None)
    if users:
        raise Refused("pool '%s' on %s: refused to stop the pool because running VMs use its volumes: %s; libvirt "
                      "cannot manage those volumes while the pool is stopped (and a VM whose disk names the pool "
                      "cannot start). Shut those VMs down or move their disks first, or set force: true"
                      % (name, conn.uri, '; '.join('%s (%s)' % (vm, ', '.join(used))
                                                   for vm, used in sorted(users.items()))))


def _has_pending_definition(pool):
    """True when the saved definition of an active pool differs from the running one.

    The running definition reports the target's real owner, group and mode,
    so only the permissions the saved definition sets are compared.
    """
    if not pool.isPersistent():
        return False
    live = spec_of(_xml.parse(pool.XMLDesc(0)))
    saved = spec_of(_xml.parse(definition_xml(pool, INACTIVE_XML)))
    for key, value in saved['target'].items():
        if value is None:
            live['target'][key] = None
    return live != saved


def _restart(ctx, pool, pool_type):
    """Stop and start a pool so its saved definition applies; a dir pool is rebuilt to apply permissions."""
    with ctx.conn.translated('restart', "pool '%s'" % pool.name(),
                             'the new definition is saved; if the pool is now stopped, check that its target '
                             'exists and its source is reachable, then start it with active: true'):
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
        for step in ['define'] + (['build'] if params.get('build') and active else []) + \
                (['start'] if active else []) + (['autostart'] if autostart else []):
            ctx.record(step)  # the pool to call does not exist yet
        return Outcome(True, None, _predicted(spec_of(root), active, autostart,
                                              {'volumes': [], 'volume_count': 0 if active else None}),
                       restart_required=False, actions=ctx.actions)
    with conn.translated('define', "pool '%s'" % name, 'check the pool options against the type %s' % root.get('type')):
        pool = ctx.act('define', conn.virt.storagePoolDefineXML, _xml.to_string(root), 0)
    try:
        if active:
            _start(ctx, pool, params, root.get('type'))
        if autostart:
            with conn.translated('set autostart of', "pool '%s'" % name, _AUTOSTART_HINT):
                ctx.act('autostart', pool.setAutostart, 1)
    except Exception:  # any failure midway (re-raised below) must not leave a half-made pool
        drop_quietly(pool)
        raise
    return Outcome(True, None, _read(conn, "pool '%s'" % name, describe, pool), restart_required=False,
                   actions=ctx.actions)


# -- removal --------------------------------------------------------------------
def _ensure_absent(ctx):
    """Stop and undefine a pool; refuse one that holds volumes unless purge, and never purge volumes VMs use.

    An inactive pool lists no volumes, so it is started briefly to count them
    (and stopped again when the removal is refused).  Check mode never starts
    it: it predicts the removal and warns that the volumes were not counted.
    """
    params = ctx.params
    conn = ctx.conn
    name = params['name']
    pool = conn.pool(name)
    if pool is None:
        return Outcome(False, None, None, actions=[])
    what = "pool '%s'" % name
    before = _read(conn, what, describe, pool)
    started = False
    if before['active']:
        # Files copied into the pool's directory behind libvirt's back are volumes too.
        with conn.translated('refresh the volume list of', what, "check that the pool's target and source are "
                             'reachable on the node; a pool with a job running (a volume being built) refreshes '
                             'once the job is done'):
            pool.refresh(0)
    else:
        started = _start_to_count(ctx, pool, what)
    try:
        # Here the pool runs (in check mode, an inactive one would run, with volumes not counted).
        volumes = sorted(_read(conn, what, pool.listVolumes)) if (before['active'] or started) else []
        if volumes and not params.get('purge'):
            raise Refused("pool '%s' on %s still holds %d volume(s): %s; delete them first, or set purge: true "
                          "to delete them with the pool%s"
                          % (name, conn.uri, len(volumes), ', '.join(volumes),
                             ' (it was started only to count them)' if started else ''))
        if volumes:
            _refuse_used_volumes(conn, pool, name)
            for vol_name in volumes:
                vol = conn.volume(pool, vol_name)
                if vol is None:  # removed meanwhile by someone else
                    continue
                with conn.translated('delete', "volume '%s' in pool '%s'" % (vol_name, name),
                                     "check the permissions of the volume's file or device on the node, or "
                                     'delete it with vmcat.libvirt.volume (state: absent) and retry'):
                    ctx.act('delete volume %s' % vol_name, vol.delete, 0)
        with conn.translated('stop', what, _STOP_HINT):
            ctx.act('stop', pool.destroy)
        started = False
    except Exception as exc:  # re-raised below; any failure (a VmcatError) gets the note about stopping again
        if started and isinstance(exc, VmcatError):
            exc.msg += _stop_again(pool)
            exc.args = (exc.msg,)
        elif started:
            _stop_again(pool)
        raise
    if params.get('purge') and before['type'] == 'dir':
        with conn.translated('delete the directory of', what, 'the directory must be empty; remove what is left by hand'):
            ctx.act('delete target directory', pool.delete, 0)
    if before['persistent']:
        with conn.translated('undefine', what, 'check that libvirt may remove the definition file of the pool on '
                             'the node (/etc/libvirt/storage/)'):
            ctx.act('undefine', pool.undefine)
    return Outcome(True, before, None, actions=ctx.actions)


def _start_to_count(ctx, pool, what):
    """Start an inactive pool so its volumes can be listed; True when it was started (never in check mode)."""
    conn = ctx.conn
    if ctx.check_mode:
        ctx.warn("%s on %s is inactive: its volumes cannot be counted in check mode (that needs starting it). "
                 "The real run starts it briefly to count them, and refuses to remove a pool that holds volumes "
                 "unless purge: true" % (what, conn.uri))
        ctx.act('start to count volumes', pool.create, 0)
        return False
    try:
        ctx.act('start to count volumes', pool.create, 0)
    except LibvirtError as exc:
        raise Refused("%s on %s is inactive, and removing it needs starting it briefly to count its volumes, but "
                      "it did not start: %s; start it first (vmcat.libvirt.pool with active: true, and build: true "
                      "if its directory is gone), or make its target and source reachable on the node, then remove "
                      "it again" % (what, conn.uri, libvirt_message(exc)), libvirt_code=exc.get_error_code())
    return True


def _stop_again(pool):
    """Leave a pool that was started only to count its volumes inactive again; returns a note for the error."""
    try:
        pool.destroy()
    except Exception as exc:  # best effort inside an error path: its failure becomes a note on the real error
        return ('; it was started to count its volumes and could not be stopped again (%s): stop it with '
                'active: false' % (libvirt_message(exc) if is_libvirt_error(exc) else exc))
    return '; the pool was stopped again, as it was'


def _refuse_used_volumes(conn, pool, pool_name):
    used = []
    with conn.translated('list the volumes of', "pool '%s'" % pool_name, READ_HINT):
        volumes = pool.listAllVolumes(0)
    for vol in volumes:
        with conn.translated('read', "volume '%s' in pool '%s'" % (vol.name(), pool_name), READ_HINT):
            vol_name, vol_path = vol.name(), vol.path()
        with conn.translated('find the VMs that use', "volume '%s' in pool '%s'" % (vol_name, pool_name),
                             'a VM defined or removed meanwhile can cause this: run the task again'):
            users = volume_users(conn, pool_name, vol_name, vol_path)
        if users:
            used.append("'%s' (used by %s)" % (vol_name, ', '.join(users)))
    if used:
        raise Refused("pool '%s' on %s: purge refused because VMs use its volumes: %s; detach them or remove "
                      "those VMs first" % (pool_name, conn.uri, '; '.join(used)))

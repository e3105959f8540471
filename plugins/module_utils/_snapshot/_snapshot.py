# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM snapshots: create, revert to and delete snapshots safely.

The cycle: check the options -> read the VM and all its snapshots once (a
``Tree``) -> for ``present`` create the snapshot when missing (or update its
description by redefining it), for ``current`` revert unless the VM is
already there, for ``absent`` delete it (with its children, or its metadata
only) -> report the snapshot in the shape of snapshot_info.

What libvirt 9.0 with QEMU 7.2 does with internal and external snapshots
was tried on a real node; the rules below follow it (docs/modules/snapshot.md
has the table):

- a VM's snapshots are either all internal or all external: an internal
  snapshot made after an external one is stored inside the external
  overlay and is silently lost when that external snapshot is deleted; an
  external snapshot made after an internal one can be neither deleted
  (libvirt refuses: internal parent) nor kept when reverting to the
  internal one (its overlays are left out of the disk chain);
- reverting to an external snapshot needs libvirt 9.7, deleting one 9.0;
- deleting an external snapshot merges its overlay into the image below it
  and removes the overlay, so it is refused when another VM or volume uses
  either file (for example a clone made with clone_to_vm).

Reading the tree: ``_tree``.  Clones and templates made from
snapshots, and who else uses a snapshot's files: ``_clone``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _guest_agent
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _clone
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot import _definition as sx
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, LibvirtError, Refused, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._snapshot._tree import (
    Tree,
    describe,
    names_text,
    view,
    volume_path,
)

STATES = ('present', 'absent', 'current')
AFTER_REVERT = ('snapshot', 'running', 'paused', 'shutoff')
EXTERNAL_DELETE_VERSION = 9000000  # libvirt 9.0 deletes external snapshots
EXTERNAL_REVERT_VERSION = 9007000  # libvirt 9.7 reverts to them
# The run state a revert with no flags leaves the VM in, by the snapshot's saved state.
_SAVED_RUN_STATE = {'running': 'running', 'blocked': 'running', 'paused': 'paused', 'pmsuspended': 'paused'}


def _version_text(version):
    return '%d.%d.%d' % (version // 1000000, version // 1000 % 1000, version % 1000)


# -- checks before anything changes ----------------------------------------------------------------
def validate(params):
    """Refuse inconsistent options before any lookup."""
    sx.check_name(params['name'])
    state = params['state']
    kind = params.get('kind') or 'internal'
    sx.wanted_disks(kind, params.get('disks'))
    if params.get('quiesce') and kind != 'external':
        raise InvalidInput('quiesce: true needs kind: external. libvirt freezes the guest file systems only for '
                           'disk-only snapshots (VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE requires DISK_ONLY); an internal '
                           'snapshot of a running VM saves its memory together with its disks, which is consistent '
                           'without freezing')
    misplaced = []
    if state != 'absent':
        misplaced += [k for k in ('children', 'metadata_only') if params.get(k)]
    if state != 'current' and params.get('force_revert'):
        misplaced.append('force_revert')
    if state != 'present':
        misplaced += [k for k in ('clone_to_vm', 'to_template') if params.get(k)]
        misplaced += [k for k in ('kind', 'disks', 'description') if params.get(k) is not None]
        misplaced += ['quiesce'] if params.get('quiesce') else []
    if misplaced:
        raise InvalidInput('%s do(es) not apply to state: %s (children and metadata_only are for absent, force_revert '
                           'and after_revert for current, the rest for present)' % (', '.join(misplaced), state))


def _refuse_mixing(tree, kind):
    other = 'external' if kind == 'internal' else 'internal'
    have = sorted(n for n, i in tree.info.items() if i['kind'] == other)
    if not have:
        return
    if kind == 'internal':
        why = ('an internal snapshot would be stored inside the newest external overlay, and libvirt deletes that '
               'overlay (and with it the internal snapshot) when the external snapshot is deleted')
    else:
        why = ('libvirt 9 can then delete neither kind (an external snapshot with an internal parent, or an internal '
               'one whose image is no longer the top of the disk chain), and reverting to the internal snapshot '
               'would leave the external overlays out of the disk chain')
    raise Refused("%s has %s snapshots (%s); an %s snapshot is refused because %s. Keep one kind per VM: delete "
                  "those snapshots first (state: absent), or use kind: %s"
                  % (tree.where, other, ', '.join(have), kind, why, other))


def _vm_disks(tree):
    with tree.conn.translated('read', "VM '%s'" % tree.vm):
        return sx.domain_disks(_xml.parse(tree.dom.XMLDesc(0)))


def _default_mode(disk, kind):
    if disk['device'] in ('cdrom', 'floppy') or disk['readonly'] or not (disk['source'] or disk['volume']):
        return 'no'
    return kind


def _plan_disks(tree, name, kind, wanted, active):
    """Every disk of the VM with the mode it gets; refuses what libvirt would refuse, with the reason."""
    vm_disks = _vm_disks(tree)
    by_target = dict((d['target'], d) for d in vm_disks)
    unknown = [d['target'] for d in wanted if d['target'] not in by_target]
    if unknown:
        raise InvalidInput('%s has no disk %s; its disks: %s' % (tree.where, ', '.join(unknown), names_text(by_target)))
    listed = dict((d['target'], d) for d in wanted)
    plan = []
    for disk in vm_disks:
        if not disk['source'] and disk['volume']:
            disk['source'] = volume_path(tree.conn, disk['pool'], disk['volume'])
        entry = listed.get(disk['target'])
        mode = entry['snapshot'] if entry else _default_mode(disk, kind)
        if kind == 'internal' and mode == 'internal' and disk['format'] != 'qcow2':
            raise InvalidInput("%s: disk %s is %s; internal snapshots live inside qcow2 images. Use kind: external, "
                               "or leave the disk out (disks: [{target: %s, snapshot: 'no'}]) while the VM is shut off"
                               % (tree.where, disk['target'], disk['format'] or 'not a file image', disk['target']))
        if kind == 'internal' and active and mode == 'no' and _default_mode(disk, kind) != 'no':
            raise InvalidInput("%s is running: an internal snapshot of a running VM saves its memory with every "
                               "writable disk, so disk %s cannot be left out; shut the VM off first, or use kind: "
                               "external" % (tree.where, disk['target']))
        path = entry.get('file') if entry else None
        if mode == 'external' and not path and disk['volume']:
            # libvirt names overlays only for file disks; for a pool volume the module names it the same way
            path = sx.generated_file(disk['source'], name)
            if not path:
                raise InvalidInput("%s: disk %s is volume '%s' of pool '%s', whose path is unknown (is the pool "
                                   "running?); give disks: [{target: %s, file: /path/of/the/overlay}]"
                                   % (tree.where, disk['target'], disk['volume'], disk['pool'], disk['target']))
        plan.append(dict(disk, mode=mode, file=path))
    if not any(d['mode'] != 'no' for d in plan):
        raise InvalidInput('%s: nothing to snapshot: every disk is left out, read-only or empty' % tree.where)
    return plan


def _check_quiesce(tree):
    if tree.vm_state != 'running':
        raise Refused('%s is %s; quiesce: true freezes the file systems of a running guest through its guest agent. '
                      'Start it, or leave quiesce unset' % (tree.where, tree.vm_state))
    try:
        answers, detail = _guest_agent.agent_available(tree.dom), ''
    except _guest_agent.AgentError as exc:  # the driver cannot even ask (no agent support at all)
        answers, detail = False, '; %s' % exc.msg
    if not answers:
        raise Refused("quiesce: true needs the guest agent, but no guest agent answers in %s (is qemu-guest-agent "
                      "installed and running, and does the VM have the org.qemu.guest_agent.0 channel?); nothing was "
                      "created. Leave quiesce unset to take a crash-consistent snapshot%s" % (tree.where, detail),
                      reason='no_agent')


def refresh_pools(conn, paths):
    """Let the directory pools holding these files see them come or go (libvirt makes and removes overlays
    behind the pools' backs); best effort: the snapshot is made or deleted either way."""
    dirs = set(os.path.dirname(p) for p in paths if p)
    if not dirs:
        return
    for pool in conn.all_pools():
        try:
            if pool.isActive() and os.path.normpath(_xml.text_of(_xml.parse(pool.XMLDesc(0)), 'target/path') or '/-') in dirs:
                pool.refresh(0)
        except (LibvirtError, VmcatError):  # a pool busy or gone meanwhile (or its XML unreadable) stays as it was
            pass


# -- present ----------------------------------------------------------------------------------------------
def _predicted_info(tree, name, description, kind, plan):
    active = tree.vm_state in ('running', 'paused')
    if kind == 'internal':
        state, memory = (tree.vm_state, 'internal') if active else ('shutoff', 'no')
    else:
        state, memory = ('disk-snapshot' if active else 'shutoff'), 'no'
    created = int(time.time())
    disks = []
    for disk in plan:
        external = disk['mode'] == 'external'
        disks.append({
            'target': disk['target'],
            'snapshot': disk['mode'],
            'file': (disk['file'] or sx.generated_file(disk['source'], name)) if external else None,
            'format': 'qcow2' if external else disk['format'],
            'base': disk['source'] if external else None,
        })
    info = {
        'name': name, 'description': description or None, 'state': state, 'parent': tree.current,
        'creation_time': created, 'created': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(created)),
        'memory': memory, 'memory_file': None, 'disks': disks, 'domain_disks': plan,
    }
    info['kind'] = sx.kind_of(info)
    return info


def _create(ctx, tree):
    params = ctx.params
    name = params['name']
    kind = params.get('kind') or 'internal'
    wanted = sx.wanted_disks(kind, params.get('disks'))
    active = tree.vm_state in ('running', 'paused')
    plan = _plan_disks(tree, name, kind, wanted, active)
    _refuse_mixing(tree, kind)
    if params.get('quiesce'):
        _check_quiesce(tree)
    listed = [dict(target=d['target'], snapshot=d['mode'], file=d['file']) for d in plan
              if d['target'] in set(w['target'] for w in wanted) or d['file']]
    xml = sx.create_xml(name, params.get('description'), kind, listed)
    hint = ('nothing was made (the snapshot is atomic); for external snapshots the overlay files must not exist yet '
            'and their directory must be writable by QEMU')
    with ctx.conn.translated('create snapshot', "'%s' of VM '%s'" % (name, tree.vm), hint):
        ctx.act('create %s snapshot' % kind, tree.dom.snapshotCreateXML, xml, sx.create_flags(kind, params.get('quiesce')))

    def read_back():
        fresh = Tree(ctx.conn, tree.dom)
        refresh_pools(ctx.conn, [d['file'] for d in fresh.info[name]['disks']])
        return fresh, fresh.info[name], describe(fresh, name)

    def predict():
        info = _predicted_info(tree, name, params.get('description'), kind, plan)
        return None, info, view(tree, info, True, tree.vm_state, sizes=False)

    return ctx.after(True, read_back, predict)


def _refuse_changed(tree, info, params):
    """An existing snapshot cannot become another kind or save other disks: say so instead of ignoring it."""
    where = "snapshot '%s' of %s" % (info['name'], tree.where)
    if params.get('kind') and params['kind'] != info['kind']:
        raise Refused('%s exists as an %s snapshot, but the task asks for kind: %s; a snapshot cannot change kind. '
                      'Delete it first (state: absent) or use another name' % (where, info['kind'], params['kind']))
    saved = dict((d['target'], d) for d in info['disks'])
    for disk in sx.wanted_disks(params.get('kind') or info['kind'], params.get('disks')):
        have = saved.get(disk['target'])
        mode = have['snapshot'] if have else None
        if mode != disk['snapshot'] or (disk['file'] and disk['file'] != have['file']):
            raise Refused('%s saved disk %s as snapshot: %s%s, but the task asks for snapshot: %s%s; a snapshot cannot '
                          'be changed. Delete it first (state: absent) or use another name'
                          % (where, disk['target'], mode or 'absent', ' file %s' % have['file'] if have and have['file'] else '',
                             disk['snapshot'], ' file %s' % disk['file'] if disk['file'] else ''))


def _update(ctx, tree):
    params = ctx.params
    name = params['name']
    info = tree.info[name]
    _refuse_changed(tree, info, params)
    before = describe(tree, name)
    wanted = params.get('description')
    if wanted is None or (wanted or None) == info['description']:
        return tree, info, before, before
    snap = tree.objects[name]
    with ctx.conn.translated('update the description of', "snapshot '%s' of VM '%s'" % (name, tree.vm),
                             'the description is changed by redefining the snapshot\'s metadata; nothing else changes'):
        xml = sx.with_description(snap.getXMLDesc(sx.XML_SECURE), wanted)
        ctx.act('update description', tree.dom.snapshotCreateXML, xml, sx.CREATE_REDEFINE)

    def read_back():
        fresh = Tree(ctx.conn, tree.dom)
        return fresh, fresh.info[name], before, describe(fresh, name)

    def predict():
        return tree, dict(info, description=wanted or None), before, dict(before, description=wanted or None)

    return ctx.after(True, read_back, predict)


def _present(ctx, tree):
    params = ctx.params
    name = params['name']
    if params.get('clone_to_vm'):  # before the snapshot is taken
        _clone.check_clone_name(ctx.conn, params['clone_to_vm']['name'])
    if name in tree.info:
        fresh, info, before, after = _update(ctx, tree)
    else:
        before = None
        fresh, info, after = _create(ctx, tree)
    changed = before != after
    extra = {}
    source = fresh or tree
    if params.get('clone_to_vm'):
        made, extra['clone'] = _clone.ensure_clone(ctx, source, info, params['clone_to_vm'])
        changed = changed or made
    if params.get('to_template'):
        made, extra['template'] = _clone.ensure_template(ctx, source, info, params['to_template'])
        changed = changed or made
    return Outcome(changed, before, after, actions=ctx.actions, **extra)


# -- current: revert --------------------------------------------------------------------------------------
def _revert(ctx, tree):
    params = ctx.params
    name = params['name']
    snap = tree.require(name)
    info = tree.info[name]
    before = describe(tree, name)
    after_revert = params.get('after_revert') or 'snapshot'
    target = _SAVED_RUN_STATE.get(info['state'], 'shutoff') if after_revert == 'snapshot' else after_revert
    if tree.current == name and tree.vm_state == target and not params.get('force_revert'):
        return Outcome(False, before, before, actions=[])
    where = "snapshot '%s' of %s" % (name, tree.where)
    if info['kind'] == 'external':
        version = ctx.conn.virt.getLibVersion()
        if version < EXTERNAL_REVERT_VERSION:
            raise Refused('%s is external; reverting to external snapshots needs libvirt 9.7 or later, and this node '
                          'runs libvirt %s. Its saved disk state is still there: clone it into a new VM with '
                          'clone_to_vm, or delete the snapshot' % (where, _version_text(version)))
    elif 'external' in tree.kinds():
        raise Refused('%s is internal, but the VM also has external snapshots (%s); reverting would switch the disks '
                      'back to the images inside which the internal snapshot lives and leave the external overlays '
                      'out of the disk chain, so they could no longer be deleted. Delete the external snapshots '
                      'first (or forget them with metadata_only: true)'
                      % (where, ', '.join(sorted(n for n, i in tree.info.items() if i['kind'] == 'external'))))
    flags = {'running': sx.REVERT_RUNNING, 'paused': sx.REVERT_PAUSED}.get(target, 0)
    with ctx.conn.translated('revert to', "snapshot '%s' of VM '%s'" % (name, tree.vm),
                             'if libvirt asks for a forced revert, shut the VM off and revert again'):
        ctx.act('revert', tree.dom.revertToSnapshot, snap, flags)
        if target == 'shutoff':
            saved_active = _SAVED_RUN_STATE.get(info['state']) is not None
            if ctx.check_mode and saved_active:
                ctx.record('destroy')  # check mode: the reverted VM would run, there is nothing to call yet
            elif not ctx.check_mode and tree.dom.isActive():
                ctx.act('destroy', tree.dom.destroy)
        elif not ctx.check_mode:
            _settle(ctx, tree.dom, target)
    after = ctx.after(True, lambda: describe(Tree(ctx.conn, tree.dom), name),
                      lambda: dict(before, current=True, vm_state=target))
    return Outcome(True, before, after, actions=ctx.actions)


def _settle(ctx, dom, target):
    """Bring the VM to the run state asked for, where a driver's revert did not (libvirt's test driver ignores
    the RUNNING and PAUSED flags for snapshots of a shut-off VM; QEMU honours them)."""
    now = sx.vm_state_name(dom.state()[0])
    if now == target:
        return
    if now == 'shutoff':
        ctx.act('start', dom.createWithFlags, 1 if target == 'paused' else 0)  # VIR_DOMAIN_START_PAUSED
    elif now == 'paused' and target == 'running':
        ctx.act('resume', dom.resume)
    elif now == 'running' and target == 'paused':
        ctx.act('pause', dom.suspend)


# -- absent: delete -------------------------------------------------------------------------------------------
def _mixing_problem(tree, name):
    info = tree.info[name]
    if info['kind'] == 'internal':
        external = sorted(n for n, i in tree.info.items() if i['kind'] == 'external')
        if external:
            return ('it is internal and the VM has external snapshots (%s): libvirt deletes an internal snapshot only '
                    'from the image the VM uses now, which is an external overlay' % ', '.join(external))
        return None
    parent = info['parent']
    if parent and tree.info[parent]['kind'] == 'internal':
        return "its parent '%s' is internal, and libvirt 9 cannot delete an external snapshot with an internal parent" % parent
    inner = [n for n in tree.descendants(name) if tree.info[n]['kind'] == 'internal']
    if inner:
        return ('internal snapshots (%s) were taken after it and may live inside the overlay that deleting it '
                'removes' % ', '.join(sorted(inner)))
    return None


def _check_deletable(ctx, tree, names):
    external = [n for n in names if tree.info[n]['kind'] == 'external']
    if external:
        version = ctx.conn.virt.getLibVersion()
        if version < EXTERNAL_DELETE_VERSION:
            raise Refused('%s: deleting external snapshots (%s) needs libvirt 9.0 or later, and this node runs libvirt '
                          '%s; use metadata_only: true to forget them and keep every image file'
                          % (tree.where, ', '.join(external), _version_text(version)))
    for name in names:
        problem = _mixing_problem(tree, name)
        if problem:
            raise Refused("%s: deleting snapshot '%s' is refused because %s. Nothing was deleted; metadata_only: true "
                          "forgets snapshots and keeps every image as it is" % (tree.where, name, problem))
    if external:
        _clone.refuse_shared_images(ctx.conn, tree, external)


def _delete(ctx, tree):
    params = ctx.params
    name = params['name']
    if name not in tree.info:
        return Outcome(False, None, None, actions=[], deleted=[])
    before = describe(tree, name)
    below = tree.descendants(name) if params.get('children') else []
    names = below + [name]
    snap = tree.objects[name]
    what = "snapshot '%s' of VM '%s'" % (name, tree.vm)
    if params.get('metadata_only'):
        flags = sx.DELETE_METADATA_ONLY | (sx.DELETE_CHILDREN if below else 0)
        with ctx.conn.translated('delete the metadata of', what):
            ctx.act('delete metadata' + (' with children' if below else ''), snap.delete, flags)
        return Outcome(True, before, None, actions=ctx.actions, deleted=names)
    _check_deletable(ctx, tree, names)
    if all(tree.info[n]['kind'] == 'internal' for n in names):
        with ctx.conn.translated('delete', what):
            ctx.act('delete' + (' with children' if below else ''), snap.delete, sx.DELETE_CHILDREN if below else 0)
        return Outcome(True, before, None, actions=ctx.actions, deleted=names)
    # libvirt 9 deletes external snapshots one at a time (no DELETE_CHILDREN for them): deepest first.
    done = []
    for each in names:
        try:
            with ctx.conn.translated('delete', "snapshot '%s' of VM '%s'" % (each, tree.vm)):
                ctx.act('delete %s' % each, tree.objects[each].delete, 0)
        except VmcatError as exc:
            if done:
                exc.msg += '; already deleted: %s' % ', '.join(done)
                exc.details['deleted'] = done
            raise
        done.append(each)
    if not ctx.check_mode:
        refresh_pools(ctx.conn, [d['file'] for n in names for d in tree.info[n]['disks']])
    return Outcome(True, before, None, actions=ctx.actions, deleted=names)


# -- the change cycle -----------------------------------------------------------------------------------------
def ensure(ctx):
    """Converge one snapshot to the task's state; returns an Outcome."""
    params = ctx.params
    validate(params)
    dom = ctx.conn.domain(params['vm'])
    if dom is None:
        if params['state'] == 'absent':  # a VM that is gone has no snapshots left
            return Outcome(False, None, None, actions=[], deleted=[])
        ctx.conn.require_domain(params['vm'])
    tree = Tree(ctx.conn, dom)
    if params['state'] == 'absent':
        return _delete(ctx, tree)
    if params['state'] == 'current':
        return _revert(ctx, tree)
    return _present(ctx, tree)

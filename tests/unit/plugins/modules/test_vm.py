# -*- coding: utf-8 -*-
"""The vm module end to end on libvirt's test driver (a node file, so state persists between runs)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vmcat.libvirt.plugins.modules import vm, vm_info
from ansible_collections.vmcat.libvirt.tests.unit.helpers import ModuleFail, fail, four_ways

MIB = 1024 * 1024


def _stable_vm(result):
    """The vm key without what the test driver's node file does not keep (it keeps the run state but not its reason)."""
    return dict(result['vm'], uptime=None, state_reason=None)


def vm_four_ways(run_module, args):
    """The shared four ways; the check run plans the actions the apply takes. Returns the first two results."""
    first, applied = four_ways(run_module, vm, args, same=_stable_vm)[:2]
    assert first['actions'] == applied['actions']
    return first, applied


def new_vm(uri, name='web1', **kw):
    args = dict(uri=uri, name=name, memory='256M', max_memory='512M', vcpus=1, max_vcpus=4,
                disks=[dict(target='vda', create=dict(pool='p1', name='%s.qcow2' % name, capacity='1G'))],
                nics=[dict(network='n1')], tags=['web'], metadata={'owner': 'alice'})
    args.update(kw)
    return args


def info(run_module, uri, **kw):
    return run_module(vm_info, dict(uri=uri, **kw))


def test_create_four_ways(run_module, node_uri):
    first, applied = vm_four_ways(run_module, new_vm(node_uri))
    assert first['actions'] == ["create volume 'p1/web1.qcow2'", 'define']
    assert first['diff']['before'] == {}
    made = applied['vm']
    assert (made['memory'], made['max_memory'], made['vcpus'], made['max_vcpus']) == (256 * MIB, 512 * MIB, 1, 4)
    assert made['state'] == 'shutdown' and made['persistent'] is True and made['autostart'] is False
    assert made['disks'][0]['pool'] == 'p1' and made['disks'][0]['volume'] == 'web1.qcow2'
    assert made['disks'][0]['format'] == 'qcow2' and made['disks'][0]['capacity'] == 1024 * MIB
    assert made['nics'][0]['network'] == 'n1' and made['nics'][0]['mac'].startswith('52:54:00:')
    assert made['guest_agent'] is True and made['serial'] == {'type': 'pty', 'path': None}
    assert made['tags'] == ['web'] and made['metadata'] == {'owner': 'alice'}
    for key in ('memory', 'vcpus', 'tags', 'disks', 'guest_agent'):
        expected = first['vm'][key]
        if key == 'disks':
            expected = [dict(d, capacity=None, allocation=None) for d in expected]
            got = [dict(d, capacity=None, allocation=None) for d in made[key]]
            assert got == expected
        else:
            assert made[key] == expected, key
    shown = info(run_module, node_uri, name='web1')['vms'][0]
    assert dict(shown, uptime=None) == dict(made, uptime=None)


def test_states_four_ways(run_module, node_uri):
    run_module(vm, new_vm(node_uri))
    base = dict(uri=node_uri, name='web1')
    first, applied = vm_four_ways(run_module, dict(base, state='running'))
    assert first['actions'] == ['start'] and applied['vm']['state'] == 'running'
    first, applied = vm_four_ways(run_module, dict(base, state='paused'))
    assert first['actions'] == ['pause'] and applied['vm']['state'] == 'paused'
    first, applied = vm_four_ways(run_module, dict(base, state='running'))
    assert first['actions'] == ['resume']
    first, applied = vm_four_ways(run_module, dict(base, state='shutdown'))
    assert first['actions'] == ['shutdown (acpi)'] and applied['vm']['state'] == 'shutdown'
    run_module(vm, dict(base, state='running'))
    first, applied = vm_four_ways(run_module, dict(base, state='destroyed'))
    assert first['actions'] == ['destroy'] and applied['vm']['state_reason'] == 'shut off (destroyed)'
    first, applied = vm_four_ways(run_module, dict(base, state='paused'))
    assert first['actions'] == ['start paused']
    first, applied = vm_four_ways(run_module, dict(base, autostart=True))
    assert first['actions'] == ['autostart on'] and applied['vm']['autostart'] is True


def test_restarted_is_always_a_change(run_module, node_uri):
    run_module(vm, new_vm(node_uri, state='running'))
    args = dict(uri=node_uri, name='web1', state='restarted')
    for check_mode in (True, False, True, False):
        result = run_module(vm, args, check_mode=check_mode)
        assert result['changed'] is True and result['actions'] == ['reboot (acpi)']
    run_module(vm, dict(args, state='destroyed'))
    assert run_module(vm, args)['actions'] == ['start']


def test_live_changes_and_pending(run_module, node_uri):
    run_module(vm, new_vm(node_uri, state='running'))
    first, applied = vm_four_ways(run_module, new_vm(node_uri, vcpus=3, memory='384M', tags=['web', 'db'],
                                                     title='Web'))
    assert first['actions'] == ['define', 'set vcpus 3', 'set memory 384 MiB', 'set title',
                                'set tags and metadata']
    assert applied['restart_required'] is False
    # The test driver's node file keeps only the saved definition (a running VM comes back from it in the next
    # task), so pending changes show in the task that makes them; tests/integration/targets/vm_converge checks
    # them over several tasks on a real QEMU.
    args = new_vm(node_uri, vcpus=3, memory='384M', tags=['web', 'db'], title='Web', max_vcpus=6,
                  cpu=dict(mode='custom', model='qemu64'), rng=True)
    first = run_module(vm, args, check_mode=True)
    applied = run_module(vm, args)
    for result in (first, applied):
        assert result['changed'] is True and result['actions'] == ['define']
        assert result['restart_required'] is True
    assert first['pending_changes'] == ['max_vcpus', 'cpu', 'rng']
    assert applied['pending_changes'] == ['max_vcpus', 'cpu', 'rng']
    restarted = run_module(vm, dict(uri=node_uri, name='web1', state='restarted'))
    assert restarted['restart_required'] is False and restarted['vm']['max_vcpus'] == 6


def test_device_changes_wait_on_the_test_driver(run_module, node_uri):
    run_module(vm, new_vm(node_uri, state='running'))
    args = new_vm(node_uri)
    args['nics'] = [dict(network='n1'), dict(network='n1', mac='52:54:00:00:10:02')]
    first = run_module(vm, args, check_mode=True)
    applied = run_module(vm, args)
    for result in (first, applied):
        assert result['actions'] == ['define'] and result['pending_changes'] == ['nics[52:54:00:00:10:02]']
    assert [n['mac'] for n in applied['vm']['nics']][1] == '52:54:00:00:10:02'


def test_purge_and_detach_keep_volumes(run_module, node_uri):
    run_module(vm, new_vm(node_uri, disks=[
        dict(target='vda', create=dict(pool='p1', name='a.qcow2', capacity='1G')),
        dict(target='vdb', create=dict(pool='p1', name='b.raw', capacity='16M', format='raw'))]))
    args = new_vm(node_uri, disks=[dict(target='vda')], purge_disks=True, nics=[], purge_nics=True)
    first, applied = vm_four_ways(run_module, args)
    assert [d['target'] for d in applied['vm']['disks']] == ['vda'] and applied['vm']['nics'] == []
    volumes = run_module(__import__('ansible_collections.vmcat.libvirt.plugins.modules.volume_info',
                                    fromlist=['x']), dict(uri=node_uri, pool='p1'))['volumes']
    assert 'b.raw' in [v['name'] for v in volumes]


def test_graphics_password_never_returned(run_module, node_uri):
    args = new_vm(node_uri, graphics=[dict(type='vnc', listen='127.0.0.1', password='s3cret')])
    first, applied = vm_four_ways(run_module, args)
    assert applied['vm']['graphics'][0]['password'] is None
    assert 's3cret' not in repr(first) and 's3cret' not in repr(applied)
    changed = run_module(vm, new_vm(node_uri, graphics=[dict(type='vnc', password='other')]), diff=True)
    assert changed['changed'] is True and 'other' not in repr(changed)


def test_xml_four_ways(run_module, node_uri):
    xml = ("<domain type='test'><name>raw1</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
           "<devices><interface type='network'><source network='n1'/></interface></devices></domain>")
    first, applied = vm_four_ways(run_module, dict(uri=node_uri, name='raw1', xml=xml))
    assert first['actions'] == ['define']
    mac = applied['vm']['nics'][0]['mac']
    bigger = xml.replace('64', '128')
    first, applied = vm_four_ways(run_module, dict(uri=node_uri, name='raw1', xml=bigger))
    assert applied['vm']['memory'] == 128 * MIB and applied['vm']['nics'][0]['mac'] == mac


def _differences(result):
    before, after = result['diff']['before'], result['diff']['after']
    return dict((k, (before.get(k), after.get(k))) for k in set(before) | set(after) if before.get(k) != after.get(k))


@pytest.mark.parametrize('state', ['shutdown', 'running'])
def test_xml_check_mode_diff_shows_only_what_changes(run_module, node_uri, state):
    """libvirt adds <boot dev='hd'/>, the lifecycle actions and the arch to a definition that leaves them out."""
    xml = ("<domain type='test'><name>raw1</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
           "<devices><interface type='network'><source network='n1'/></interface></devices></domain>")
    args = dict(uri=node_uri, name='raw1', xml=xml)
    made = run_module(vm, args, diff=True)
    assert made['diff']['after']['boot'] == ['hd'] and made['diff']['after']['on_crash'] == 'destroy'
    run_module(vm, dict(uri=node_uri, name='raw1', state=state))
    same = run_module(vm, args, check_mode=True, diff=True)
    assert same['changed'] is False and same['actions'] == []
    assert same['diff']['before'] == same['diff']['after']
    assert same['restart_required'] is False and same['pending_changes'] == []
    bigger = dict(args, xml=xml.replace('64', '128'))
    predicted = run_module(vm, bigger, check_mode=True, diff=True)
    assert predicted['changed'] is True and predicted['actions'] == ['define']
    changes = _differences(predicted)
    assert changes.pop('memory') == (64 * MIB, 128 * MIB) and changes.pop('max_memory') == (64 * MIB, 128 * MIB)
    if state == 'running':  # the bigger maximum waits for a restart
        assert changes.pop('pending_changes') == ([], ['max_memory']) and changes.pop('restart_required')
    assert changes == {}
    applied = run_module(vm, bigger, diff=True)
    for key in ('boot', 'arch', 'machine', 'on_poweroff', 'on_reboot', 'on_crash', 'memory', 'max_memory'):
        assert predicted['vm'][key] == applied['vm'][key], key


def test_check_mode_predicts_the_defaults_of_a_new_vm(run_module, node_uri):
    args = new_vm(node_uri)
    predicted = run_module(vm, args, check_mode=True)['vm']
    made = run_module(vm, args)['vm']
    for key in ('boot', 'arch', 'machine', 'on_poweroff', 'on_reboot', 'on_crash'):
        assert predicted[key] == made[key], key
    assert made['boot'] == ['hd'] and made['arch'] == 'i686'


def test_absent_and_remove_storage(run_module, node_uri):
    run_module(vm, new_vm(node_uri, disks=[
        dict(target='vda', create=dict(pool='p1', name='own.qcow2', capacity='1G')),
        dict(target='vdb', pool='p1', volume='v1.qcow2')], state='running'))
    run_module(vm, new_vm(node_uri, name='other', disks=[dict(target='vda', pool='p1', volume='v1.qcow2')]))
    args = dict(uri=node_uri, name='web1', state='absent', remove_storage=True)
    first = run_module(vm, args, check_mode=True)
    assert first['changed'] and first['actions'] == ['destroy', 'undefine', 'delete volume p1/own.qcow2']
    assert first['storage'] == {'removed': ['p1/own.qcow2'],
                                'kept': [{'target': 'vdb', 'volume': 'p1/v1.qcow2', 'reason': 'other VMs use it: other'}]}
    applied = run_module(vm, args)
    assert applied['changed'] and applied['vm'] == {}
    assert run_module(vm, args, check_mode=True)['changed'] is False
    assert run_module(vm, args)['changed'] is False
    names = [v['name'] for v in run_module(__import__('ansible_collections.vmcat.libvirt.plugins.modules.volume_info',
                                                      fromlist=['x']), dict(uri=node_uri, pool='p1'))['volumes']]
    assert 'own.qcow2' not in names and 'v1.qcow2' in names


def test_absent_keeps_disks_by_default(run_module, node_uri):
    run_module(vm, new_vm(node_uri))
    result = run_module(vm, dict(uri=node_uri, name='web1', state='absent'))
    assert result['actions'] == ['undefine'] and 'storage' not in result


@pytest.mark.parametrize('args, message', [
    (dict(nics=[dict(network='nowhere')]), "network 'nowhere' not found"),
    (dict(disks=[dict(target='vda', create=dict(pool='nopool', name='x', capacity='1G'))]), "pool 'nopool' not found"),
    (dict(disks=[dict(target='vda', pool='p1', volume='missing.qcow2')]), "volume 'missing.qcow2' not found"),
    (dict(disks=[dict(target='vda', create=dict(pool='p1', name='x.qcow2'))]), 'create needs capacity'),
    (dict(vcpus=5), 'vcpus 5 is above max_vcpus 4'),
    (dict(memory='1G'), 'above max_memory'),
    (dict(max_memory='64G', memory='1G'), 'more than the node has'),
    (dict(disks=[dict(target='vda', path='/a'), dict(target='vda', path='/b')]), 'listed more than once'),
    (dict(nics=[dict(network='n1', mac='zz:54:00:00:00:01')]), 'not a MAC address'),
    (dict(xml='<domain/>'), 'cannot be combined'),
    (dict(cpu=dict(mode='host-model', topology=dict(sockets=1, cores=3, threads=1))), 'cpu.topology gives 3'),
    (dict(boot=['hd'], disks=[dict(target='vda', path='/a', boot_order=1)]), 'exclude each other'),
    (dict(remove_storage=True), 'applies to state: absent'),
    (dict(disks=[dict(target='vda', path='/a', io='native', cache='writeback')]), 'io native needs cache none'),
    (dict(cloud_init=dict(user_data='#cloud-config\npackages: [git\n')), 'starts with #cloud-config but is not valid'),
    (dict(disks=[dict(target='vda', create=dict(pool='p1', name='x.qcow2', capacity='1E'))]),
     "volume 'x.qcow2' in pool 'p1' on test://"),
    (dict(disks=[dict(target='vda', create=dict(pool='p1', name='x.qcow2', capacity='101G'))]),
     'is larger than the whole pool'),
])
def test_bad_input_fails_before_any_change(run_module, node_uri, args, message):
    msg = fail(run_module, vm, new_vm(node_uri, **args))
    assert message in msg, msg
    assert [v['name'] for v in info(run_module, node_uri)['vms']] == ['d1']
    volumes = run_module(__import__('ansible_collections.vmcat.libvirt.plugins.modules.volume_info',
                                    fromlist=['x']), dict(uri=node_uri, pool='p1'))['volumes']
    assert [v['name'] for v in volumes] == ['v1.qcow2']


@pytest.mark.parametrize('name, rule', [
    ('..', "must not be '.' or '..'"),
    ('.hidden', "must not start with '.'"),
    ('x' * 300, 'must not be longer than 200 bytes'),
    ('web/1', "must not contain '/'"),
    ('web1 ', 'must not start or end with whitespace'),
    ('web\n1', 'must not contain control characters'),
])
@pytest.mark.parametrize('check_mode', [True, False])
def test_a_new_vm_with_a_bad_name_is_refused_before_any_change(run_module, node_uri, name, rule, check_mode):
    for args in (new_vm(node_uri, name=name),
                 dict(uri=node_uri, name=name, xml="<domain type='test'><memory unit='MiB'>64</memory>"
                                                   "<os><type>hvm</type></os></domain>")):
        with pytest.raises(ModuleFail) as err:
            run_module(vm, args, check_mode=check_mode)
        msg = err.value.result['msg']
        assert msg.startswith('VM name %r on %s is not valid: ' % (name, node_uri)), msg
        assert rule in msg and 'choose a name such as' in msg
        assert [v['name'] for v in info(run_module, node_uri)['vms']] == ['d1']
    volumes = run_module(__import__('ansible_collections.vmcat.libvirt.plugins.modules.volume_info',
                                    fromlist=['x']), dict(uri=node_uri, pool='p1'))['volumes']
    assert [v['name'] for v in volumes] == ['v1.qcow2']


def test_an_existing_vm_keeps_a_name_made_elsewhere(run_module, node_uri):
    """Names are checked for VMs the module makes; one defined elsewhere as '.hidden' can be changed and removed."""
    path = node_uri[len('test://'):]
    with open(path) as handle:
        text = handle.read()
    with open(path, 'w') as handle:
        handle.write(text.replace('<name>d1</name><uuid>7da047ae-009e-57d3-b054-c50b4899f3ac</uuid>',
                                  '<name>.hidden</name><uuid>7da047ae-009e-57d3-b054-c50b4899f3ad</uuid>'))
    changed = run_module(vm, dict(uri=node_uri, name='.hidden', memory='512M'))
    assert changed['changed'] is True and changed['vm']['memory'] == 512 * MIB
    assert run_module(vm, dict(uri=node_uri, name='.hidden', state='running'))['changed'] is True
    assert run_module(vm, dict(uri=node_uri, name='.hidden', state='absent'))['changed'] is True
    assert run_module(vm, dict(uri=node_uri, name='.hidden', state='absent'))['changed'] is False
    assert fail(run_module, vm, dict(uri=node_uri, name='', state='absent')).startswith("VM name '' on ")


def test_more_vcpus_than_the_node_has_warn_once(run_module, node_uri, monkeypatch):
    """The node file's test driver has 2 CPUs and no domain capabilities (so no machine type limit)."""
    from ansible.module_utils import basic
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: seen.append(msg))
    args = new_vm(node_uri, vcpus=3, max_vcpus=6)
    first = run_module(vm, args, check_mode=True)
    assert first['changed'] is True and len(seen) == 1
    assert seen[0].startswith("VM 'web1' on %s: max_vcpus 6 (vcpus 3) is more than the 2 CPUs of the node" % node_uri)
    assert seen[0].endswith('lower max_vcpus to 2 at most unless this is meant')
    applied = run_module(vm, args)
    assert applied['vm']['vcpus'] == 3 and len(seen) == 2
    assert run_module(vm, args)['changed'] is False and len(seen) == 2  # unchanged: not warned again
    assert run_module(vm, dict(args, vcpus=1))['changed'] is True and len(seen) == 2  # same maximum
    assert run_module(vm, dict(args, vcpus=1, max_vcpus=2))['changed'] is True and len(seen) == 2  # within the node
    run_module(vm, dict(uri=node_uri, name='web2', memory='64M', vcpus=1000))
    assert len(seen) == 3 and 'max_vcpus 1000 is more than the 2 CPUs' in seen[2]


def test_mac_of_another_vm_is_refused(run_module, node_uri):
    run_module(vm, new_vm(node_uri, nics=[dict(network='n1', mac='52:54:00:00:20:01')]))
    msg = fail(run_module, vm, new_vm(node_uri, name='web2', nics=[dict(network='n1', mac='52:54:00:00:20:01')]))
    assert 'already used by other VMs: 52:54:00:00:20:01 (VM web1)' in msg


def test_missing_vm_needs_memory(run_module, node_uri):
    msg = fail(run_module, vm, dict(uri=node_uri, name='ghost', state='running'))
    assert "VM 'ghost' does not exist" in msg and 'memory' in msg
    assert run_module(vm, dict(uri=node_uri, name='ghost', state='absent'))['changed'] is False


def test_new_vm_started_in_one_task(run_module, node_uri):
    first, applied = vm_four_ways(run_module, new_vm(node_uri, state='running', autostart=True))
    assert first['actions'] == ["create volume 'p1/web1.qcow2'", 'define', 'start', 'autostart on']
    assert first['vm']['state'] == 'running' and applied['vm']['state'] == 'running'


def test_existing_vm_changed_in_place(run_module, node_uri):
    args = dict(uri=node_uri, name='d1', memory='512M', title='Old one', on_crash='restart')
    first, applied = vm_four_ways(run_module, args)
    assert applied['vm']['memory'] == 512 * MIB and applied['vm']['max_memory'] == 1024 * MIB
    assert first['diff']['before']['memory'] == 1024 * MIB and first['diff']['after']['memory'] == 512 * MIB


def test_vm_info_filters_and_query(run_module, node_uri):
    run_module(vm, new_vm(node_uri, state='running'))
    run_module(vm, new_vm(node_uri, name='db1', tags=['db'], disks=[
        dict(target='vda', create=dict(pool='p1', name='db1.qcow2', capacity='1G'))]))
    assert [v['name'] for v in info(run_module, node_uri)['vms']] == ['d1', 'db1', 'web1']
    assert [v['name'] for v in info(run_module, node_uri, state=['running'])['vms']] == ['web1']
    assert [v['name'] for v in info(run_module, node_uri, tags=['db'])['vms']] == ['db1']
    assert info(run_module, node_uri, tags=['db', 'web'])['vms'] == []
    result = info(run_module, node_uri, query="[?max_vcpus > `1`].name")
    assert result['query_result'] == ['db1', 'web1']
    with pytest.raises(ModuleFail) as err:
        info(run_module, node_uri, query='[?')
    assert 'JMESPath' in err.value.result['msg']
    with pytest.raises(ModuleFail) as err:
        info(run_module, node_uri, name='ghost')
    assert "VM 'ghost' not found" in err.value.result['msg']


def test_result_can_be_fed_back(run_module, node_uri):
    made = run_module(vm, new_vm(node_uri))['vm']
    keys = ('memory', 'max_memory', 'vcpus', 'max_vcpus', 'cpu', 'disks', 'nics', 'graphics', 'serial', 'rng', 'tpm',
            'watchdog', 'tags', 'metadata', 'machine', 'arch', 'virt_type', 'firmware', 'boot', 'on_crash')
    args = dict((k, made[k]) for k in keys)
    again = run_module(vm, dict(args, uri=node_uri, name='web1'))
    assert again['changed'] is False, again['actions']


def test_a_vm_moved_by_an_earlier_run_is_no_change(run_module, node_uri, monkeypatch):
    from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _vm
    moved = {'changed': False, 'action': 'none', 'target_uri': 'qemu+ssh://other/system'}
    monkeypatch.setattr(_vm._migrate, 'already_migrated', lambda ctx, params: moved)
    result = run_module(vm, dict(uri=node_uri, name='gone', migrate_to=dict(uri='qemu+ssh://other/system')))
    assert result['changed'] is False and result['migration'] == moved and result['vm'] == {}
    monkeypatch.setattr(_vm._migrate, 'already_migrated', lambda ctx, params: None)
    msg = fail(run_module, vm, dict(uri=node_uri, name='gone', migrate_to=dict(uri='qemu+ssh://other/system')))
    assert "VM 'gone' does not exist" in msg

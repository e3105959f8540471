# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vCPUs of the wanted definition against the machine type (domain capabilities) and the node's CPUs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import pytest

from ansible_collections.vmcat.libvirt.plugins.module_utils._vm import _validate as validate
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput
from ansible_collections.vmcat.libvirt.tests.unit.fakes.domain import FakeCtx
from ansible_collections.vmcat.libvirt.tests.unit.fakes.node import FixtureConn, FixtureVirt

URI = 'qemu:///system'


def node_ctx(cpus=16, domcaps=True):
    """The context of a task on a 16-CPU node with 64 GiB (fakes/node.py), that records warnings."""
    return FakeCtx({}, conn=FixtureConn(FixtureVirt(cpus, memory_mib=65536, mhz=2400, domcaps=domcaps)))


def domain(vcpus, current=None, machine='pc-i440fx-7.2', virt_type='kvm'):
    vcpu = "<vcpu current='%d'>%d</vcpu>" % (current, vcpus) if current else '<vcpu>%d</vcpu>' % vcpus
    return _xml.parse("<domain type='%s'><name>big</name><memory unit='MiB'>512</memory>%s"
                      "<os><type arch='x86_64' machine='%s'>hvm</type></os></domain>" % (virt_type, vcpu, machine))


@pytest.mark.parametrize('root, counts', [
    (domain(1000), 'max_vcpus 1000 is'),
    (domain(256, current=2), 'max_vcpus 256 (vcpus 2) is'),
])
def test_more_vcpus_than_the_machine_type_allows_fail_with_the_limit(root, counts):
    ctx = node_ctx()
    with pytest.raises(InvalidInput) as err:
        validate.check_wanted(ctx, root, 'big')
    assert str(err.value) == (
        "VM 'big' on qemu:///system: %s more than machine type pc-i440fx-7.2 with kvm allows (255, libvirt's domain "
        "capabilities); lower vcpus and max_vcpus to 255 at most, or choose a machine type that allows more "
        "(node_info lists each machine type's max_cpus)" % counts)
    assert ctx.conn.virt.asked == [('x86_64', 'pc-i440fx-7.2', 'kvm')]


def test_more_vcpus_than_the_node_has_warn_and_pass():
    ctx = node_ctx(cpus=16)
    validate.check_wanted(ctx, domain(32, current=4), 'big')
    assert len(ctx.warnings) == 1
    assert ctx.warnings[0].startswith("VM 'big' on qemu:///system: max_vcpus 32 (vcpus 4) is more than the 16 CPUs "
                                      "of the node. libvirt allows it")
    assert 'lower max_vcpus to 16 at most unless this is meant' in ctx.warnings[0]


def test_within_the_node_and_the_machine_type_is_quiet():
    ctx = node_ctx(cpus=16)
    validate.check_wanted(ctx, domain(16), 'big')
    assert ctx.warnings == []


def test_drivers_without_domain_capabilities_check_the_node_only():
    """libvirt's test driver has no domain capabilities: no machine type limit, the node's CPUs still count."""
    ctx = node_ctx(cpus=16, domcaps=False)
    validate.check_wanted(ctx, domain(1000, virt_type='test'), 'big')
    assert ctx.conn.virt.asked == [('x86_64', 'pc-i440fx-7.2', 'test')]
    assert len(ctx.warnings) == 1 and 'max_vcpus 1000 is more than the 16 CPUs' in ctx.warnings[0]


def test_an_existing_vm_whose_vcpus_do_not_change_is_not_asked_again():
    ctx = node_ctx(cpus=16)
    before = domain(32, current=2)
    validate.check_wanted(ctx, domain(32, current=4), 'big', before)  # vcpus change, the maximum does not
    assert ctx.conn.virt.asked == [] and ctx.warnings == []


def test_a_changed_maximum_or_machine_type_is_checked_again():
    ctx = node_ctx(cpus=16)
    with pytest.raises(InvalidInput, match='max_vcpus 300 .vcpus 4. is more than machine type'):
        validate.check_wanted(ctx, domain(300, current=4), 'big', domain(32, current=2))
    validate.check_wanted(ctx, domain(32, machine='pc-q35-7.2'), 'big', domain(32))  # machine changes: limit asked
    assert ctx.conn.virt.asked[-1] == ('x86_64', 'pc-q35-7.2', 'kvm')
    assert ctx.warnings == []  # the maximum did not change: no warning again

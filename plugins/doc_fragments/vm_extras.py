# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:

    # Options of plugins/module_utils/_vm/_runtime_options.py (CLOUD_INIT_SPEC, WAIT_SPEC, MIGRATE_SPEC).
    DOCUMENTATION = r'''
options:
  cloud_init:
    description:
      - A cloud-init NoCloud seed for the VM, built by the module (no tools needed on the node) as an ISO9660 image
        labelled C(cidata) with Rock Ridge and Joliet names, holding C(user-data), C(meta-data) and, when given,
        C(network-config).
      - The image is kept as the volume C(<name>-cidata.iso) in O(cloud_init.pool), uploaded through libvirt (so it
        works over remote URIs), and attached to the VM as a read-only CD-ROM.
      - The seed carries a hash of its content; an unchanged seed is left alone, a changed one is rebuilt and reported
        as a change. A volume of that name that the collection did not write is never overwritten.
      - cloud-init reads the seed at boot and applies most of it only once per instance-id; to make it run again with
        new content, change O(cloud_init.instance_id) as well.
      - Left unset, an existing seed is left as it is.
      - See the collection's docs/modules/vm-cloud-init.md.
    type: dict
    suboptions:
      user_data:
        description:
          - The user-data. A dict is written as a C(#cloud-config) YAML document.
          - A text is written as it is (a C(#cloud-config) document, a shell script, a MIME multipart, ...).
          - A text starting with C(#cloud-config) must be a YAML mapping (checked with PyYAML where the module runs,
            before anything changes); cloud-init would ignore a broken one and boot the VM unconfigured.
          - Left unset, the user-data is an empty C(#cloud-config) document plus what O(cloud_init.ssh_authorized_keys)
            and O(cloud_init.password) add.
        type: raw
      meta_data:
        description:
          - Extra meta-data keys. C(instance-id) and C(local-hostname) come from O(cloud_init.instance_id) and
            O(cloud_init.hostname) unless set here.
        type: dict
      network_config:
        description:
          - The network configuration, cloud-init's version 1 or version 2 format. A dict (with C(version) at the top,
            or under C(network)) is written as YAML, a text as it is.
          - Left unset, the seed has no C(network-config) file and cloud-init uses its default (DHCP on the first NIC).
        type: raw
      ssh_authorized_keys:
        description:
          - Public SSH keys merged into the user-data's C(ssh_authorized_keys) list (for the image's default user).
          - Needs O(cloud_init.user_data) to be a dict or a C(#cloud-config) text.
        type: list
        elements: str
      password:
        description:
          - Password of the image's default user, merged into the user-data as C(password) with C(chpasswd.expire=false)
            (unless the user-data sets C(chpasswd)).
          - Never logged or returned; note that the seed itself holds it in plain text, readable by whoever can read
            the volume.
        type: str
      instance_id:
        description:
          - The C(instance-id) meta-data key. Default C(iid-<name>), stable for the VM, so that changing the content
            does not make cloud-init treat the VM as a new instance.
        type: str
      hostname:
        description:
          - The C(local-hostname) meta-data key. Default the VM name, lowercased, with characters other than letters,
            digits and C(-) replaced by C(-).
        type: str
      pool:
        description:
          - The storage pool that keeps the seed volume. Default the vm module's choice (the pool of the VM's first disk).
        type: str
      bus:
        description:
          - The bus of the seed's CD-ROM. Default C(ide) on the i440fx machine (C(pc), the x86 default), C(sata) on
            C(q35), C(scsi) on other machines.
          - Guests without an AHCI driver (some cloud kernels) need C(ide) on an i440fx machine.
        type: str
        choices: [ide, sata, scsi]
      target:
        description:
          - The device name of the seed's CD-ROM. Default C(hdc) for C(ide), C(sdc) for C(sata) and C(scsi).
        type: str
  wait_for:
    description:
      - After the VM is (or was already) running, wait until its guest agent answers C(guest-ping) (V(agent)) or until
        it has at least one IP address from O(ip_source) inside O(ip_networks) (V(ip)).
      - Not waited for in check mode. Fails at once when the VM stops or is paused while waiting.
      - Polled every quarter second at first, then at most once a second, so the task returns within about a second of
        the guest being ready.
      - Left unset, nothing is waited for.
    type: str
    choices: [agent, ip]
  wait_timeout:
    description:
      - Seconds to wait for O(wait_for).
    type: int
    default: 300
  ip_source:
    description:
      - Where addresses come from, asked in this order; each address is reported once, with the first source that
        knew it.
      - V(agent) asks the guest agent (every guest interface), V(lease) the DHCP leases of the libvirt networks the
        VM's NICs are on, V(arp) the host's ARP table (IPv4 only).
      - Loopback and link-local addresses are never reported.
    type: list
    elements: str
    choices: [agent, lease, arp]
    default: [agent, lease, arp]
  ip_networks:
    description:
      - Only addresses inside these networks (CIDR, such as C(192.0.2.0/24) or C(2001:db8::/64)) count and are
        reported.
    type: list
    elements: str
  migrate_to:
    description:
      - Move the VM to another libvirt node. A running VM is migrated live (its memory copied while it runs); a shut-off
        VM moves as its definition (offline migration).
      - In the end the VM is defined on the target and, with O(migrate_to.undefine_source), no longer on the source. A VM
        that is already on the target and gone from the source is no change.
      - The target must have the networks and pools the VM uses, and the same disk paths (shared storage) unless
        O(migrate_to.copy_storage) copies them.
      - See the collection's docs/migration.md.
    type: dict
    suboptions:
      uri:
        description:
          - The libvirt URI of the target node, such as C(qemu+ssh://root@kvm2.example.com/system).
          - The module opens it too, with the same credentials as its own user (SSH keys for C(qemu+ssh://)).
        type: str
        required: true
      live:
        description:
          - Copy the memory of a running VM while it keeps running. With V(false) the VM is paused during the copy
            (shorter in total, but the guest stops for the whole time).
        type: bool
        default: true
      copy_storage:
        description:
          - V(none) for shared storage (the target sees the same disk files).
          - V(all) copies every writable disk to the target through QEMU (the target needs pools with the same paths,
            where libvirt creates the volumes); V(incremental) copies only the top layer of disks whose backing files
            exist on the target.
          - Only for a running VM.
        type: str
        choices: [none, all, incremental]
        default: none
      bandwidth:
        description:
          - Limit of the migration stream in MiB/s.
        type: int
      timeout:
        description:
          - Seconds the migration may take; past that it is cancelled and the VM keeps running on the source.
        type: int
        default: 600
      persistent:
        description:
          - Define the VM on the target (not only run it there).
        type: bool
        default: true
      undefine_source:
        description:
          - Remove the VM's definition from the source once it is on the target. Disks are never deleted.
        type: bool
        default: true
      p2p:
        description:
          - Peer-to-peer migration, in which the source libvirtd connects to O(migrate_to.uri) itself (the URI must
            then work from the source node, with its credentials). Without it, the module's own connections drive the
            migration.
        type: bool
        default: false
      tunnelled:
        description:
          - Send the migration data through the libvirt connection rather than a separate QEMU connection. Needs
            O(migrate_to.p2p).
        type: bool
        default: false
      migration_uri:
        description:
          - Where QEMU sends the migration data, such as C(tcp://192.0.2.12) or C(tcp://192.0.2.12:49152); by default
            the target's host name as the target sees it, which must resolve on the source to the target.
        type: str
      auto_converge:
        description:
          - Slow down the guest's vCPUs when its memory changes faster than it can be copied.
        type: bool
        default: false
      unsafe:
        description:
          - Migrate even when libvirt cannot tell that writable disks are on shared storage, or their cache mode is not
            C(none). Only for storage that really is shared (data may be lost otherwise).
        type: bool
        default: false
'''

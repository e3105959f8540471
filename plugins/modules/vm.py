#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm
short_description: Define, change, start, stop and remove libvirt VMs from structured options
version_added: 0.1.0
description:
  - Defines a VM from structured options (no XML needed), or from complete domain XML with O(xml), and keeps it that
    way; the saved definition is compared with the options and changed where they differ. Options left unset are left
    as they are, and every part of the definition the module does not manage (PCI addresses, controllers, devices
    libvirt or someone else added) survives an update.
  - Lists (O(disks), O(nics)) are merged into the VM by identity (a disk by O(disks[].target), a NIC by
    O(nics[].mac), else by its source in order); devices not listed stay unless O(purge_disks) / O(purge_nics).
    O(graphics) replaces the VM's graphics when given.
  - For a running VM, what libvirt can change live is changed live as well (vCPUs up to O(max_vcpus), the memory
    balloon up to O(max_memory), disk and NIC hot-plug and hot-unplug, CD-ROM media, NIC link state, graphics
    password, title, description, tags and metadata). Everything else is saved and applies at the next start; the
    module reports it in RV(pending_changes) with RV(restart_required), and O(state=restarted) applies it.
  - O(state) moves the VM between run states, waiting for a graceful shutdown.
  - Every input is checked before anything changes (unknown networks and pools, MAC addresses other VMs use,
    vCPUs above their maximum or the machine type's, memory above its maximum or the host, duplicate disk targets,
    the name of a new VM, ...); a new VM that fails to start is removed again with the volumes the task made for it.
    More vCPUs than the node has CPUs are allowed with a warning.
extends_documentation_fragment:
  - vmcat.libvirt.connection
  - vmcat.libvirt.connection.check_diff
  - vmcat.libvirt.vm_extras
options:
  name:
    description:
      - Name of the VM.
      - A VM the task makes must have a name that is not empty, has no V(/) or control characters, is not V(.) or
        V(..), does not start with V(.), does not start or end with whitespace and is at most 200 bytes long
        (libvirt names the VM's files after it). Such a name fails before anything changes, in check mode too; an
        existing VM made elsewhere keeps its name and can be changed and removed.
    type: str
    required: true
  state:
    description:
      - V(present) defines the VM (and changes its definition); a running VM stays running, a stopped one stays
        stopped.
      - V(running) also starts it (or resumes it when paused).
      - V(paused) starts it paused, or pauses it.
      - V(shutdown) shuts it down gracefully (see O(shutdown_mode)) and waits up to O(shutdown_timeout) seconds.
      - V(destroyed) powers it off at once, like pulling the plug.
      - V(restarted) reboots a running VM (always a change); when changes wait for a restart (RV(pending_changes))
        it shuts the VM down and starts it again instead, so they apply. A stopped VM is started.
      - V(absent) stops and undefines it, with its NVRAM; its disks stay unless O(remove_storage=true). A VM that
        does not exist is no change. A VM with snapshots is refused (delete the snapshots first).
    type: str
    choices: [present, running, paused, shutdown, destroyed, restarted, absent]
    default: present
  xml:
    description:
      - A complete libvirt domain definition, instead of the structured options (it cannot be combined with them).
      - The VM is defined from it and compared after libvirt's normalisation, so giving the same XML again is no
        change. The UUID and NIC MAC addresses of the existing VM are kept when the XML has none.
      - A running VM takes the new definition at the next start (see RV(pending_changes)); nothing is changed live.
      - In check mode the module cannot ask libvirt to normalise; it predicts a change when the XML has anything the
        current definition does not, or fewer devices.
    type: str
  virt_type:
    description:
      - The hypervisor type. V(auto) is V(kvm) when the node's domain capabilities offer KVM, else V(qemu) (TCG,
        emulation).
      - Unset is V(auto) for a new VM and leaves an existing VM alone; V(auto) on an existing VM leaves it alone too.
    type: str
    choices: [auto, kvm, qemu]
  arch:
    description: Guest architecture (such as V(x86_64) or V(aarch64)). Unset on a new VM is the host's.
    type: str
  machine:
    description:
      - Machine type (such as V(pc), V(q35) or V(pc-q35-7.2)). Unset on a new VM is libvirt's default.
      - An alias is stored as libvirt's canonical name for it (V(pc) is V(pc-i440fx-7.2) with QEMU 7.2); on an
        existing VM it matches any version of that machine type, so a QEMU upgrade does not change the machine of
        existing VMs. A versioned name must match exactly.
    type: str
  firmware:
    description:
      - V(bios) or V(uefi). V(uefi) uses libvirt's firmware autoselection (C(<os firmware='efi'>)); libvirt creates
        the VM's NVRAM from the firmware's template at the first start, and O(state=absent) removes it.
      - UEFI needs the firmware on the node (Debian and Ubuntu package C(ovmf), RHEL C(edk2-ovmf)).
    type: str
    choices: [bios, uefi]
  boot:
    description:
      - Boot devices in order (C(<os><boot dev=...>)). V([]) removes the list, for example to use
        O(disks[].boot_order) instead (libvirt refuses both).
      - When a task gives O(disks[].boot_order) without O(boot), the list is removed for it.
    type: list
    elements: str
  kernel:
    description:
      - Direct kernel boot; QEMU loads a kernel (and initrd) from the node instead of booting a disk.
      - An empty O(kernel.path) removes direct kernel boot.
    type: dict
    suboptions:
      path:
        description: The kernel, an absolute path on the node.
        type: str
      initrd:
        description: The initrd, an absolute path on the node. An empty string removes it.
        type: str
      cmdline:
        description: The kernel command line. An empty string removes it.
        type: str
  vcpus:
    description:
      - Number of vCPUs the VM runs with. Unset on a new VM is O(max_vcpus), or 1.
      - On a running VM more vCPUs (up to the running maximum) are added live; fewer wait for a restart (vCPU
        unplug needs the guest's help and is not done live).
    type: int
  max_vcpus:
    description:
      - Most vCPUs the VM can have (vCPUs can be added live up to it). Unset on a new VM is O(vcpus). A change waits
        for a restart.
      - For a new VM, or when it or the machine type changes, it is checked against what the machine type allows
        (C(<vcpu max>) of libvirt's domain capabilities; more fails before anything changes) and against the node's
        CPUs (more is allowed, as overcommit, with a warning). Drivers without domain capabilities (libvirt's test
        driver) are checked against the node only.
    type: int
  cpu:
    description: The virtual CPU. Changes wait for a restart.
    type: dict
    suboptions:
      mode:
        description:
          - V(host-passthrough) gives the guest the host CPU as it is; V(host-model) the closest named model with the
            host's features (migration-friendly); V(custom) the named O(cpu.model); V(maximum) every feature the
            hypervisor can offer (with TCG, every feature QEMU emulates).
        type: str
        choices: [host-passthrough, host-model, custom, maximum]
      model:
        description: CPU model for V(custom) (such as V(qemu64), V(Haswell-noTSX), V(EPYC)); setting it implies V(custom).
        type: str
      topology:
        description:
          - Sockets, dies, cores and threads; their product must equal O(max_vcpus).
        type: dict
        suboptions:
          sockets:
            description: Sockets.
            type: int
            required: true
          dies:
            description: Dies per socket (1 when unset).
            type: int
          cores:
            description: Cores per die.
            type: int
            required: true
          threads:
            description: Threads per core.
            type: int
            required: true
  memory:
    description:
      - Memory the VM runs with, a size such as V(2G), V(512MiB) or an integer in bytes, a whole number of MiB.
      - Required for a new VM (unless O(max_memory) is given; each defaults to the other).
      - On a running VM a change moves the memory balloon at once (up to the running maximum; the guest needs a
        balloon driver to give memory back).
    type: raw
  max_memory:
    description:
      - Most memory the VM can have (the balloon can grow up to it), a size like O(memory). It must fit in the
        node's memory. A change waits for a restart.
    type: raw
  title:
    description: A short one-line title. An empty string removes it. Changed live too.
    type: str
  description:
    description: A description. An empty string removes it. Changed live too.
    type: str
  tags:
    description:
      - Tags, kept in the VM's own metadata (see the collection's docs/modules/vm.md). Replace the VM's tags when given;
        V([]) removes them. Changed live too.
      - M(vmcat.libvirt.vm_info) filters by them.
    type: list
    elements: str
  metadata:
    description:
      - Free-form metadata (strings, numbers, booleans, null, lists and dicts), kept in the VM's definition under the
        collection's XML namespace with each value's type, so it reads back exactly. Replaces the VM's metadata when
        given; V({}) removes it. Changed live too.
    type: dict
  on_poweroff:
    description: What libvirt does when the guest powers off. A change waits for a restart.
    type: str
    choices: [destroy, restart, preserve, rename-restart]
  on_reboot:
    description: What libvirt does when the guest reboots. A change waits for a restart.
    type: str
    choices: [destroy, restart, preserve, rename-restart]
  on_crash:
    description: What libvirt does when the guest crashes. A change waits for a restart.
    type: str
    choices: [destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart]
  disks:
    description:
      - Disks and CD-ROM drives, each identified by O(disks[].target). A listed disk that exists is changed in
        place; keys left unset stay as they are. Disks not listed stay unless O(purge_disks=true).
      - The source is an existing volume (O(disks[].pool) and O(disks[].volume)), a path on the node
        (O(disks[].path)), or a volume the task makes when it is missing (O(disks[].create)). A CD-ROM may have none
        (an empty drive).
      - On a running VM new disks are hot-plugged, removed ones hot-unplugged (the saved definition changes too), and
        CD-ROM media are changed live; other changes of an existing disk wait for a restart. QEMU hot-plugs disks on
        the V(virtio), V(scsi) and V(usb) buses only; V(ide) and V(sata) drives are added or removed at the next
        start.
      - The read-only keys C(capacity) and C(allocation) of a result's disks are accepted and ignored, and null
        values mean "leave as is", so the disks of a result can be given back as they are.
    type: list
    elements: dict
    suboptions:
      target:
        description: The device name in the definition (V(vda), V(sdb), V(hdc)); it decides the default bus.
        type: str
        required: true
      device:
        description: V(disk) or V(cdrom). Unset on a new disk is V(disk).
        type: str
        choices: [disk, cdrom]
      bus:
        description:
          - Bus. Unset on a new disk follows the target name (C(vd*) virtio, C(sd*) scsi, C(hd*) ide). V(scsi) adds a
            virtio-scsi controller when the VM has no SCSI controller.
          - The machine decides what works (V(ide) only on V(pc) (i440fx), V(sata) on V(q35)).
        type: str
        choices: [virtio, scsi, sata, ide, usb]
      pool:
        description: The pool of O(disks[].volume).
        type: str
      volume:
        description: An existing volume in O(disks[].pool) (the task fails when it is not there).
        type: str
      path:
        description: A file or block device on the node (absolute path), for storage outside libvirt's pools.
        type: str
      create:
        description:
          - A volume the task makes when it does not exist yet (an existing one is used as it is, never recreated or
            resized), then used as the disk's source.
          - Blank with O(disks[].create.capacity), or from a template of M(vmcat.libvirt.template) with
            O(disks[].create.template).
        type: dict
        suboptions:
          pool:
            description: The pool for the volume.
            type: str
            required: true
          name:
            description: The volume's name.
            type: str
            required: true
          capacity:
            description:
              - Size of a blank volume (V(20G), bytes as an integer). With a template, grows the clone when larger
                than the template.
            type: raw
          format:
            description: Format of a blank volume (default V(qcow2)).
            type: str
            choices: [raw, qcow2]
          template:
            description: Name of the template to clone.
            type: str
          linked:
            description:
              - With O(disks[].create.template), a linked clone (a qcow2 overlay on the template's read-only image,
                made at once) or a full copy.
            type: bool
            default: true
      format:
        description:
          - Image format the hypervisor reads, one of V(raw), V(qcow2), V(vmdk), V(vdi), V(vpc), V(qed).
          - Unset is the volume's own format (V(raw) for a path libvirt does not know as a volume).
        type: str
      cache:
        description:
          - Host cache mode, one of V(default), V(none), V(writethrough), V(writeback), V(directsync), V(unsafe).
        type: str
      io:
        description:
          - I/O mode, one of V(native) (needs O(disks[].cache) V(none) or V(directsync)), V(threads), V(io_uring).
        type: str
      discard:
        description: Whether the guest's discard (TRIM) requests reach the image, V(unmap) or V(ignore).
        type: str
      readonly:
        description: Read-only disk. CD-ROMs always are.
        type: bool
      serial:
        description: Serial number the guest sees. An empty string removes it.
        type: str
      boot_order:
        description: Boot priority of this disk (1 first); 0 removes it. Excludes O(boot).
        type: int
      capacity:
        description: Read-only (returned by the module and M(vmcat.libvirt.vm_info)); ignored.
        type: int
      allocation:
        description: Read-only (returned by the module and M(vmcat.libvirt.vm_info)); ignored.
        type: int
  purge_disks:
    description:
      - With O(disks) given, detach the VM's disks that are not listed (hot-unplugged from a running VM).
      - Detached disks are only taken out of the VM; their volumes stay.
    type: bool
    default: false
  nics:
    description:
      - Network interfaces. A NIC with O(nics[].mac) is the VM's NIC with that MAC; one without is matched with the
        VM's NICs on the same network or bridge, in order. Matched NICs are changed in place, others are added (a new
        NIC without a MAC gets one from libvirt). NICs not listed stay unless O(purge_nics=true).
      - A MAC another VM on the node uses is refused.
      - On a running VM new NICs are hot-plugged, removed ones hot-unplugged, and the link state is changed live;
        other changes of an existing NIC wait for a restart.
      - The read-only key C(addresses) of a result's NICs is accepted and ignored.
    type: list
    elements: dict
    suboptions:
      mac:
        description: MAC address (unicast, such as V(52:54:00:12:34:56)).
        type: str
      network:
        description: A libvirt network (it must exist). Excludes O(nics[].bridge).
        type: str
      bridge:
        description: A bridge of the host (such as V(br0)). Excludes O(nics[].network).
        type: str
      model:
        description: Device model. Unset on a new NIC is V(virtio); others are V(e1000), V(e1000e), V(rtl8139), ...
        type: str
      link_state:
        description: Whether the virtual cable is plugged in.
        type: str
        choices: [up, down]
      addresses:
        description: Read-only (returned by the module and M(vmcat.libvirt.vm_info)); ignored.
        type: list
        elements: dict
  purge_nics:
    description: With O(nics) given, detach the VM's NICs that are not listed (hot-unplugged from a running VM).
    type: bool
    default: false
  unplug_timeout:
    description:
      - Seconds to wait for a running guest to release a hot-unplugged disk or NIC. Linux guests answer through
        ACPI PCI hotplug within a second or two; a guest that does not take part never releases it. On timeout the
        task fails, saying that the saved definition no longer has the device (it is gone after a restart).
    type: int
    default: 30
  graphics:
    description:
      - Graphical consoles. Replaces the VM's graphics when given (V([]) removes them); an entry of the same type as
        an existing one changes it in place.
      - The password is changed live on a running VM; other changes wait for a restart. Passwords are never
        returned.
    type: list
    elements: dict
    suboptions:
      type:
        description: V(vnc) or V(spice).
        type: str
        required: true
        choices: [vnc, spice]
      listen:
        description: Address to listen on (such as V(127.0.0.1)). Excludes O(graphics[].socket).
        type: str
      socket:
        description: A UNIX socket path on the node to listen on instead of a TCP port.
        type: str
      password:
        description: Password for clients. An empty string removes it.
        type: str
      autoport:
        description: Let libvirt pick a free port at start (the default when no O(graphics[].port) is given).
        type: bool
      port:
        description: A fixed port (5900-65535); implies V(autoport=false). Ignored with O(graphics[].autoport=true).
        type: int
  guest_agent:
    description:
      - Whether the VM has the QEMU guest agent channel (C(org.qemu.guest_agent.0)). Unset is V(true) for a new VM
        and leaves an existing VM alone. A change waits for a restart.
    type: bool
  channels:
    description:
      - Named virtio-serial channels besides the guest agent's, for a guest-side protocol of your own. The guest
        sees each as C(/dev/virtio-ports/<name>) (made by udev; C(/sys/class/virtio-ports/*/name) lists them), the
        host as a unix socket or a pty that M(vmcat.libvirt.vm_channel) writes to and reads from.
      - The list is the complete set of such channels; channels not listed are removed, V([]) removes them all.
        Unset leaves them alone. Order does not count.
      - Only C(<channel>) devices of type C(unix) or C(pty) with a C(virtio) target are managed. The guest agent
        channel (O(guest_agent)), SPICE channels and C(guestfwd) channels are never changed by this option.
      - On a running VM, added and removed channels are hot-plugged (C(attachDeviceFlags)/C(detachDeviceFlags));
        a changed one is removed and added again. Where the node cannot do that, the change is saved and shows in
        RV(pending_changes) until the next start.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The port name, such as V(org.example.backup.0) (letters, digits, C(.), C(_), C(-)). Reverse-DNS names
            keep clear of other software's ports. V(org.qemu.guest_agent.0) is reserved.
        type: str
        required: true
      type:
        description:
          - V(unix) - a unix socket on the node that QEMU listens on; V(pty) - a pseudo-terminal on the node.
        type: str
        choices: [unix, pty]
        default: unix
      path:
        description:
          - The socket path on the node, for V(unix). Unset, libvirt picks one under
            C(/var/lib/libvirt/qemu/channel/target/) when the VM starts (and a channel that has one keeps it).
        type: str
  serial:
    description:
      - The serial console (the VM's first serial port, which libvirt also shows as its console). Unset is a pty for
        a new VM. A change waits for a restart.
    type: dict
    suboptions:
      type:
        description: V(pty) (C(virsh console)), V(file) (written to O(serial.path)) or V(none) (no serial port).
        type: str
        choices: [pty, file, none]
      path:
        description: The file on the node for V(file) (implies it).
        type: str
  inputs:
    description:
      - Input devices besides the PS/2 keyboard and mouse that libvirt gives every x86 VM by itself (those cannot
        be removed and are not listed). A tablet gives absolute pointer positions, which M(vmcat.libvirt.vm_input)
        needs to click at a place on the screen and a VNC or SPICE client needs for a pointer that follows it.
      - The list is the complete set of such devices; devices not listed are removed, V([]) removes them all. Unset
        leaves them alone. Order does not count. Input devices of other types (C(passthrough), C(evdev)) are never
        changed by this option.
      - A change waits for a restart.
    type: list
    elements: dict
    suboptions:
      type:
        description: V(tablet) (absolute positions), V(mouse) (relative moves) or V(keyboard).
        type: str
        required: true
        choices: [tablet, mouse, keyboard]
      bus:
        description:
          - V(usb) works in every guest (libvirt adds a USB controller when the VM has none); V(virtio) needs the
            guest's C(virtio_input) driver (Linux 4.1 and later; virtio-win on Windows).
        type: str
        choices: [usb, virtio]
        default: usb
  rng:
    description:
      - A virtio random number generator fed by the host.
      - V(true) is model V(virtio) with backend V(/dev/urandom), V(false) removes it, a dict sets C(model)
        (V(virtio), V(virtio-transitional), V(virtio-non-transitional)) and C(backend) (a host random device).
      - A change waits for a restart.
    type: raw
  tpm:
    description:
      - A TPM.
      - V(true) is an emulated TPM 2.0 (model V(tpm-crb), backend V(emulator), version V(2.0)), which needs
        C(swtpm) on the node; V(false) removes it; a dict sets C(model) (V(tpm-crb), V(tpm-tis)), C(backend)
        (V(emulator), V(passthrough)), C(version) (V(2.0), V(1.2)) and, for V(passthrough), C(path) (such as
        V(/dev/tpm0)).
      - A change waits for a restart.
    type: raw
  watchdog:
    description:
      - A watchdog device.
      - V(true) is model V(i6300esb) with action V(reset), V(false) removes it, a dict sets C(model)
        (V(i6300esb), V(ib700), V(itco), V(diag288)) and C(action) (V(reset), V(shutdown), V(poweroff), V(pause),
        V(none), V(dump), V(inject-nmi)).
      - A change waits for a restart.
    type: raw
  autostart:
    description: Whether libvirt starts the VM when the daemon starts. Unset leaves it as it is (off for a new VM).
    type: bool
  shutdown_mode:
    description:
      - How O(state=shutdown) and O(state=restarted) ask the guest. V(acpi) presses the virtual power button (the
        guest needs an ACPI daemon, such as acpid or systemd-logind), V(agent) asks the QEMU guest agent.
      - The request is repeated every 10 seconds while waiting, in case the guest missed it while booting.
    type: str
    choices: [acpi, agent]
    default: acpi
  shutdown_timeout:
    description: Seconds to wait for a graceful shutdown.
    type: int
    default: 120
  force_after_timeout:
    description:
      - When a graceful shutdown times out, power the VM off (as O(state=destroyed)) instead of failing.
    type: bool
    default: false
  remove_storage:
    description:
      - With O(state=absent), also delete the volumes the VM owns. A volume is kept (and listed in
        RV(storage.kept) with the reason) when it is a template image, another VM uses it, another volume has it as
        its backing file, the disk is shareable or a CD-ROM (except the VM's own cloud-init seed), or it is a plain
        path libvirt does not know as a volume.
    type: bool
    default: false
notes:
  - Live changes use C(VIR_DOMAIN_AFFECT_LIVE) calls after the new definition is saved, each reported in
    RV(actions). A running VM is compared with its saved definition option by option; what differs and cannot be
    changed live is listed in RV(pending_changes) on every run until the VM restarts, without making the task
    changed.
  - A reboot inside the guest (or O(state=restarted) without pending changes) keeps the same QEMU process, so
    saved changes do not apply; O(state=restarted) with pending changes shuts the VM down and starts it.
  - libvirt's test driver (C(test:///)) cannot hot-plug devices; on it, device changes of a running VM wait for a
    restart.
seealso:
  - module: vmcat.libvirt.vm_info
  - module: vmcat.libvirt.volume
  - module: vmcat.libvirt.network
  - name: libvirt domain XML format
    description: What each part of a domain definition means.
    link: https://libvirt.org/formatdomain.html
'''

EXAMPLES = r'''
- name: A VM with a new disk on an isolated network, running
  vmcat.libvirt.vm:
    name: web1
    memory: 2G
    vcpus: 2
    max_vcpus: 4
    disks:
      - target: vda
        create: {pool: images, name: web1.qcow2, capacity: 20G}
    nics:
      - network: lab
    graphics:
      - {type: vnc, listen: 127.0.0.1}
    inputs:
      - {type: tablet}
    tags: [web, production]
    metadata: {owner: alice, backup: {enabled: true, days: 7}}
    state: running

- name: From a template, booting UEFI, with cloud-init
  vmcat.libvirt.vm:
    name: app1
    memory: 4G
    vcpus: 2
    machine: q35
    firmware: uefi
    cpu: {mode: host-passthrough}
    disks:
      - target: vda
        create: {pool: images, name: app1.qcow2, template: debian-12, capacity: 30G}
    nics:
      - {network: lab, mac: '52:54:00:10:00:21'}
    cloud_init:
      user_data:
        packages: [nginx]
      ssh_authorized_keys: ["{{ lookup('file', '~/.ssh/id_ed25519.pub') }}"]
    state: running
    wait_for: ip

- name: Two more vCPUs and a data disk, live
  vmcat.libvirt.vm:
    name: web1
    vcpus: 4
    disks:
      - target: vdb
        create: {pool: images, name: web1-data.qcow2, capacity: 100G}
  register: web1

- name: A change that needs a restart (reported in pending_changes) ...
  vmcat.libvirt.vm:
    name: web1
    max_memory: 8G
  register: web1

- name: ... applied by a restart
  vmcat.libvirt.vm:
    name: web1
    state: restarted
  when: web1.restart_required

- name: Unplug the NIC cable
  vmcat.libvirt.vm:
    name: web1
    nics:
      - {mac: '52:54:00:10:00:21', link_state: down}

- name: Direct kernel boot
  vmcat.libvirt.vm:
    name: tiny
    memory: 256M
    kernel:
      path: /var/lib/libvirt/boot/vmlinuz
      initrd: /var/lib/libvirt/boot/initrd.gz
      cmdline: console=ttyS0

- name: From complete XML
  vmcat.libvirt.vm:
    name: legacy
    xml: "{{ lookup('file', 'legacy.xml') }}"

- name: Shut down, power off after 60 s
  vmcat.libvirt.vm:
    name: web1
    state: shutdown
    shutdown_timeout: 60
    force_after_timeout: true

- name: A named virtio-serial channel for a guest-side backup agent (hot-plugged when web1 runs)
  vmcat.libvirt.vm:
    name: web1
    channels:
      - name: org.example.backup.0

- name: Remove a VM and the volumes only it uses
  vmcat.libvirt.vm:
    name: web1
    state: absent
    remove_storage: true
'''

RETURN = r'''
vm:
  description:
    - The VM after the task (as it would be, in check mode), in the shape of one element of
      RV(vmcat.libvirt.vm_info#module:vms). Empty after O(state=absent).
    - The option keys come from the saved definition; graphics passwords are never returned.
  returned: always
  type: dict
  sample:
    name: web1
    uuid: 0c7a9f5e-3f5e-4b1e-9f7a-2f6d1b0e8a11
    state: running
    state_reason: running (booted)
    vcpus: 2
    max_vcpus: 4
    memory: 2147483648
    max_memory: 2147483648
    disks:
      - {target: vda, device: disk, bus: virtio, pool: images, volume: web1.qcow2, path: null, format: qcow2,
         cache: null, io: null, discard: null, readonly: false, serial: null, boot_order: null,
         capacity: 21474836480, allocation: 196608}
    nics:
      - {mac: '52:54:00:10:00:21', network: lab, bridge: null, model: virtio, link_state: up, addresses: []}
    tags: [production, web]
    restart_required: false
    pending_changes: []
restart_required:
  description: Whether the running VM differs from its saved definition in ways that apply only at the next start.
  returned: always
  type: bool
  sample: true
pending_changes:
  description: The option paths that wait for a restart (empty when none).
  returned: always
  type: list
  elements: str
  sample: [max_memory, cpu.mode, 'disks[vda].cache']
actions:
  description: What the task did (or would do, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create volume 'images/web1-data.qcow2'", define, attach disk vdb, set vcpus 4]
storage:
  description: With O(state=absent) and O(remove_storage=true), the volumes deleted and those kept, with the reason.
  returned: when O(remove_storage=true) and the VM existed
  type: dict
  contains:
    removed:
      description: C(pool/volume) of each deleted volume.
      type: list
      elements: str
    kept:
      description: The volumes kept, each with C(target), C(volume) and C(reason).
      type: list
      elements: dict
  sample:
    removed: [images/web1.qcow2]
    kept:
      - {target: vdb, volume: images/shared.qcow2, reason: 'other VMs use it: web2'}
addresses:
  description: With O(wait_for), the VM's addresses when it was ready (see RV(vmcat.libvirt.vm_info#module:vms)).
  returned: when O(wait_for) is set
  type: list
  elements: dict
migration:
  description: With O(migrate_to), what the migration did (see the collection's docs/migration.md).
  returned: when O(migrate_to) is set
  type: dict
'''

# First of ours: importing it installs the code cache (docs/architecture.md).
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _zip_imports  # pylint: disable=unused-import
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._module import LibvirtModule
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _options as options
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain._state import RUN_STATES
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._vm import ensure
from ansible_collections.vmcat.libvirt.plugins.module_utils._vm._runtime_options import extras_argument_spec


def argument_spec():
    spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=list(RUN_STATES) + ['absent']),
        xml=dict(type='str'),
        autostart=dict(type='bool'),
        purge_disks=dict(type='bool', default=False),
        purge_nics=dict(type='bool', default=False),
        unplug_timeout=dict(type='int', default=30),
        shutdown_mode=dict(type='str', choices=['acpi', 'agent'], default='acpi'),
        shutdown_timeout=dict(type='int', default=120),
        force_after_timeout=dict(type='bool', default=False),
        remove_storage=dict(type='bool', default=False),
    )
    spec.update(options.argument_spec())
    spec.update(extras_argument_spec())
    return spec


def main():
    # graphics[].password and cloud_init.password: masked wherever they appear (results carry none anyway)
    module = LibvirtModule(supports_check_mode=True, argument_spec=argument_spec(), secret_keys=('password',))
    module.run_change('vm', ensure)


if __name__ == '__main__':
    main()

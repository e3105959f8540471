# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of vmcat.libvirt.guest_file: ``src`` is read and ``dest`` written on the controller.

The module runs where libvirt is (often the controller with connection
local, or a remote libvirt host through ``delegate_to``); its guest data
travels as base64 in the module's arguments and result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.vmcat.libvirt.plugins.module_utils._guest._guest_file import local_dest, write_local
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError
from ansible_collections.vmcat.libvirt.plugins.plugin_utils._controller_files import find_src

MODULE = 'vmcat.libvirt.guest_file'


def _sha256_of(path):
    try:
        with open(path, 'rb') as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except (IOError, OSError):
        return None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def _module(self, args, task_vars):
        return self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        state = args.get('state') or 'present'
        if state == 'present' and args.get('src'):
            return self._put(args, result, task_vars)
        if state == 'fetched' and args.get('dest'):
            return self._fetch(args, result, task_vars)
        result.update(self._module(args, task_vars))
        return result

    def _put(self, args, result, task_vars):
        src = args.pop('src')
        if args.get('content') is not None or args.get('content_b64') is not None:
            raise AnsibleActionFail('src, content and content_b64 are mutually exclusive; give one')
        found = find_src(self, src, purpose='one regular file for guest_file to put')
        with open(found, 'rb') as handle:
            args['content_b64'] = base64.b64encode(handle.read()).decode('ascii')
        result.update(self._module(args, task_vars))
        result['src'] = found
        module_args = result.get('invocation', {}).get('module_args')
        if isinstance(module_args, dict):  # do not echo the whole file back
            module_args['content_b64'] = '(%s, read on the controller)' % found
            module_args['src'] = found
        return result

    def _fetch(self, args, result, task_vars):
        dest = os.path.expanduser(args.pop('dest'))
        wanted = args.get('return_content', False)
        args['return_content'] = True
        result.update(self._module(args, task_vars))
        if result.get('failed'):
            return result
        data = base64.b64decode(result['content_b64'])
        target = local_dest(dest, result['guest_path'])
        old = _sha256_of(target)
        new = hashlib.sha256(data).hexdigest()
        changed = old != new
        if changed and not self._task.check_mode:
            try:
                write_local(target, data)
            except (OSError, VmcatError) as exc:  # the file system's error, or InvalidInput for a missing directory
                raise AnsibleActionFail('could not write %s on the controller: %s' % (target, to_text(exc)))
        result.update(changed=changed, dest=target)
        result.setdefault('actions', [])
        if changed:
            result['actions'].append('write %d bytes to %s on the controller' % (len(data), target))
        if self._task.diff:
            result['diff'] = dict(before='sha256: %s\n' % old if old else '', after='sha256: %s\n' % new,
                                  before_header=target, after_header=target)
        if not wanted:
            result.pop('content', None)
            result.pop('content_b64', None)
        return result

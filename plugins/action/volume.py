# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of vmcat.libvirt.volume: ``src`` is a file on the controller unless ``remote_src``.

The module streams ``src`` into the new volume with virStorageVolUpload from
the host it runs on.  This plugin finds ``src`` on the controller (role and
play ``files/`` directories included) and:

- with a local connection (localhost, delegate_to: localhost) passes the
  resolved absolute path, nothing is copied;
- otherwise first runs the module without the data: it reads the file's
  header on the controller (format and virtual size, as the module would)
  and passes that as the hidden ``_src_probe``.  In check mode that is the
  whole task (the module predicts the volume).  Otherwise the module does
  the task when the volume exists (an existing volume is never overwritten,
  so the bytes are not needed) and answers ``upload_needed`` when it is
  missing; only then is the file copied into the module host's Ansible temp
  directory, the module run again on that copy, and the temp directory
  removed afterwards, also when the module fails.

Everything else (no ``src``, ``remote_src: true``) goes to the module unchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage._transfer import probe_local_image
from ansible_collections.vmcat.libvirt.plugins.plugin_utils._controller_files import find_src, runs_on_controller

MODULE = 'vmcat.libvirt.volume'


class ActionModule(ActionBase):

    TRANSFERS_FILES = False  # a temp directory is made only when src must travel

    def _module(self, args, task_vars):
        return self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        try:
            return self._run(result, task_vars)
        except AnsibleActionFail as exc:  # a result, so that failed_when and ignore_errors see the message
            result.update(failed=True, msg=to_text(getattr(exc, 'message', None) or exc))
            return result

    def _run(self, result, task_vars):
        args = dict(self._task.args)
        args.pop('_src_probe', None)  # only this plugin sets it
        try:
            remote_src = boolean(args.get('remote_src', False), strict=True)
        except TypeError as exc:
            raise AnsibleActionFail('remote_src: %s' % to_text(exc))
        if not args.get('src') or remote_src:
            result.update(self._module(args, task_vars))
            return result
        found = find_src(self, args['src'], purpose='the image file to upload into the volume')
        if runs_on_controller(self._connection):
            args['src'] = found
            result.update(self._module(args, task_vars))
        else:
            first = self._without_data(dict(args), found, task_vars)
            if first.pop('upload_needed', False) and not self._task.check_mode and not first.get('failed'):
                first = self._upload(args, found, task_vars)
            result.update(first)
        result['src'] = found
        return result

    def _without_data(self, args, found, task_vars):
        """Run the module with src's format and size read here instead of a copy of src."""
        try:
            fmt, size = probe_local_image(found)
        except (IOError, OSError) as exc:
            raise AnsibleActionFail('src %s cannot be read on the controller: %s' % (found, to_text(exc)))
        args.update(src=found, _src_probe=dict(format=fmt, size=size))
        result = self._module(args, task_vars)
        module_args = result.get('invocation', {}).get('module_args')
        if isinstance(module_args, dict):
            module_args.pop('_src_probe', None)
        return result

    def _upload(self, args, found, task_vars):
        """Copy src into the module host's temp directory, run the module on it, always remove the copy."""
        shell = self._connection._shell
        if shell.tmpdir is None:
            self._make_tmp_path()
        try:
            remote = shell.join_path(shell.tmpdir, 'volume-src')
            self._transfer_file(found, remote)
            self._fixup_perms2((shell.tmpdir, remote))
            args['src'] = remote
            return self._module(args, task_vars)
        finally:
            self._remove_tmp_path(shell.tmpdir)

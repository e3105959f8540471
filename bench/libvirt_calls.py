# -*- coding: utf-8 -*-
"""How many libvirt-python calls one run of a module makes, by name.

Usage: libvirt_calls.py MODULE ARGS_JSON   (run with the collection tree on PYTHONPATH)

Runs ``plugins/modules/MODULE.py``'s main() in this process with ARGS_JSON as its
arguments (as a task would pass them) and counts every call into libvirt-python
made from outside libvirt-python (a method of virConnect, virDomain, ... or a
module function: nearly all are one request to the daemon).  Prints one JSON
object: {"result": the module's result, "calls": {name: count}, "total": n}.
"""
from __future__ import absolute_import, division, print_function

import collections
import contextlib
import importlib
import io
import json
import sys


def count_calls(module, args):
    import libvirt  # the file whose functions are counted
    from ansible.module_utils import basic
    counted = collections.Counter()
    wrapper = libvirt.__file__.rstrip('c')

    def profile(frame, event, arg):
        if event == 'call' and frame.f_code.co_filename == wrapper:
            caller = frame.f_back
            if caller is None or caller.f_code.co_filename != wrapper:
                self = frame.f_locals.get('self')
                owner = type(self).__name__ + '.' if self is not None else ''
                counted[owner + frame.f_code.co_name] += 1

    basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8')
    basic._ANSIBLE_PROFILE = 'legacy'  # what ansible-core 2.19 hands a module (older cores ignore it)
    main = importlib.import_module('ansible_collections.vmcat.libvirt.plugins.modules.' + module).main
    out = io.StringIO()
    sys.setprofile(profile)
    try:
        with contextlib.redirect_stdout(out):
            main()
    except SystemExit:
        pass
    finally:
        sys.setprofile(None)
    return json.loads(out.getvalue()), counted


def main():
    result, counted = count_calls(sys.argv[1], json.loads(sys.argv[2]))
    print(json.dumps({'result': result, 'calls': dict(sorted(counted.items())), 'total': sum(counted.values())}))


if __name__ == '__main__':
    main()

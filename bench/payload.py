# -*- coding: utf-8 -*-
"""The AnsiballZ payload each module ships, built by ansible-core itself, and how long its import takes.

Usage: payload.py COLLECTIONS_PATH   (a directory holding ansible_collections/vmcat/libvirt)

The zip is built with the compression a real run uses (ansible-core's
DEFAULT_MODULE_COMPRESSION, ZIP_DEFLATED unless configured otherwise).

Prints one JSON object: module -> {payload_bytes, module_utils_files, module_utils_bytes}
(the files of this collection's module_utils in the zip, __init__.py included).  The
payload is what ansible-core sends to the managed host for one task (the
AnsiballZ wrapper with the zipped module and every module_utils file it
imports), so it shows whether a module ships more after a change.
"""
from __future__ import absolute_import, division, print_function

import json
import os
import re
import sys
import zipfile
import base64
import io


def main():
    path = os.path.abspath(sys.argv[1])
    os.environ['ANSIBLE_COLLECTIONS_PATH'] = path
    from ansible.executor import module_common
    from ansible.plugins.loader import init_plugin_loader, module_loader
    from ansible.template import Templar
    from ansible.parsing.dataloader import DataLoader
    from ansible import constants
    init_plugin_loader([path])
    modules = os.path.join(path, 'ansible_collections', 'vmcat', 'libvirt', 'plugins', 'modules')
    out = {}
    for name in sorted(f[:-3] for f in os.listdir(modules) if f.endswith('.py') and not f.startswith('_')):
        fq = 'vmcat.libvirt.' + name
        found = module_loader.find_plugin_with_context(fq)
        built = module_common.modify_module(module_name=fq, module_path=found.plugin_resolved_path, module_args={},
                                            templar=Templar(loader=DataLoader()),
                                            module_compression=constants.DEFAULT_MODULE_COMPRESSION,
                                            task_vars={'ansible_python_interpreter': sys.executable})
        data = getattr(built, 'b_module_data', None) or built[0]
        zipped = max(re.findall(rb'[A-Za-z0-9+/=]{4096,}', data), key=len)  # the base64 zip inside the wrapper
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(zipped))) as z:
            files = [n for n in z.namelist() if '/vmcat/libvirt/plugins/module_utils/' in n and n.endswith('.py')]
            ours = sum(z.getinfo(n).file_size for n in files)
        out[name] = {'payload_bytes': len(data), 'module_utils_files': len(files), 'module_utils_bytes': ours}
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == '__main__':
    main()

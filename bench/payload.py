# -*- coding: utf-8 -*-
"""The AnsiballZ payload each module ships, built by ansible-core itself, and how long its import takes.

Usage: payload.py COLLECTIONS_PATH [IMPORT_RUNS]   (a directory holding ansible_collections/vmcat/libvirt)

The zip is built with the compression a real run uses (ansible-core's
DEFAULT_MODULE_COMPRESSION, ZIP_DEFLATED unless configured otherwise).

Prints one JSON object: module -> {payload_bytes, module_utils_files, module_utils_bytes,
import_ms_compiled, import_ms_cached} (the files of this collection's module_utils in
the zip, __init__.py included).  The payload is what ansible-core sends to the
managed host for one task (the AnsiballZ wrapper with the zipped module and
every module_utils file it imports), so it shows whether a module ships more
after a change.  The import times are the median of IMPORT_RUNS (default 5)
fresh interpreters importing the module out of its zip after
ansible.module_utils.basic (which the AnsiballZ wrapper imports first): with
the code cache off (every file compiled, as on a task's first run) and with
it warm (_core/_zip_imports).
"""
from __future__ import absolute_import, division, print_function

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
import base64
import io

# Run in a fresh interpreter: import the module out of its payload zip, timing only that import.
IMPORT_PROBE = r'''
import importlib, sys, time
sys.path.insert(0, sys.argv[1])
import ansible.module_utils.basic
start = time.perf_counter()
importlib.import_module(sys.argv[2])
print(time.perf_counter() - start)
'''


def import_ms(zip_path, fq_module, runs, cache):
    """Median milliseconds of importing ``fq_module`` out of ``zip_path`` in ``runs`` fresh interpreters."""
    env = dict((k, v) for k, v in os.environ.items() if k != 'PYTHONPATH')
    env['VMCAT_LIBVIRT_CODE_CACHE'] = cache
    times = []
    for dummy in range(runs):
        out = subprocess.run([sys.executable, '-c', IMPORT_PROBE, zip_path, fq_module], env=env, check=True,
                             stdout=subprocess.PIPE, universal_newlines=True, cwd=os.path.dirname(zip_path)).stdout
        times.append(float(out) * 1000)
    return round(statistics.median(times), 1)


def main():
    path = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    os.environ['ANSIBLE_COLLECTIONS_PATH'] = path
    from ansible.executor import module_common
    from ansible.plugins.loader import init_plugin_loader, module_loader
    from ansible.template import Templar
    from ansible.parsing.dataloader import DataLoader
    from ansible import constants
    init_plugin_loader([path])
    modules = os.path.join(path, 'ansible_collections', 'vmcat', 'libvirt', 'plugins', 'modules')
    work = tempfile.mkdtemp(prefix='vmcat-payload-')
    out = {}
    try:
        for name in sorted(f[:-3] for f in os.listdir(modules) if f.endswith('.py') and not f.startswith('_')):
            fq = 'vmcat.libvirt.' + name
            found = module_loader.find_plugin_with_context(fq)
            built = module_common.modify_module(module_name=fq, module_path=found.plugin_resolved_path, module_args={},
                                                templar=Templar(loader=DataLoader()),
                                                module_compression=constants.DEFAULT_MODULE_COMPRESSION,
                                                task_vars={'ansible_python_interpreter': sys.executable})
            data = getattr(built, 'b_module_data', None) or built[0]
            zipped = base64.b64decode(max(re.findall(rb'[A-Za-z0-9+/=]{4096,}', data), key=len))  # the zip inside
            with zipfile.ZipFile(io.BytesIO(zipped)) as z:
                files = [n for n in z.namelist() if '/vmcat/libvirt/plugins/module_utils/' in n and n.endswith('.py')]
                ours = sum(z.getinfo(n).file_size for n in files)
            out[name] = {'payload_bytes': len(data), 'module_utils_files': len(files), 'module_utils_bytes': ours}
            if runs:
                out[name].update(import_times(work, name, zipped, runs))
    finally:
        shutil.rmtree(work)
    print(json.dumps(out, indent=1, sort_keys=True))


def import_times(work, name, zipped, runs):
    """The module's import out of its zip: every file compiled (cache off), and read from a warm code cache."""
    zip_path = os.path.join(work, name + '.zip')
    with open(zip_path, 'wb') as f:
        f.write(zipped)
    module = 'ansible_collections.vmcat.libvirt.plugins.modules.' + name
    cache = os.path.join(work, 'code-' + name)
    compiled = import_ms(zip_path, module, runs, 'off')
    import_ms(zip_path, module, 1, cache)  # fills the cache
    return {'import_ms_compiled': compiled, 'import_ms_cached': import_ms(zip_path, module, runs, cache)}


if __name__ == '__main__':
    main()

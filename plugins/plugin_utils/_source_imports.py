# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""On the controller: our module_utils and plugin_utils read from the code cache instead of compiled in every process.

ansible-core's collection loader compiles a collection's files from source each time a process imports them and
reads no ``__pycache__``. The inventory plugin imports about 20 of our files in each ``ansible-inventory`` run and
the qga connection about 10 in each task's worker. The plugins that import many call ``install()`` first; then
those files load through the managed host's CodeCache (``_core/_zip_imports``, the same directory and rules:
docs/architecture.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._zip_imports import (
    CachedSourceLoader, CodeCache, source_spec)

PREFIXES = ('ansible_collections.vmcat.libvirt.plugins.module_utils.',
            'ansible_collections.vmcat.libvirt.plugins.plugin_utils.')


class SourceFinder:
    """Finds our module_utils and plugin_utils as source files on their package's path (never in a zip)."""

    def __init__(self, cache):
        self.cache = cache

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIXES) or not path:
            return None
        name = fullname.rpartition('.')[2]
        for entry in path:
            base = os.path.join(entry, name)
            for filename, package in ((base + '.py', False), (os.path.join(base, '__init__.py'), True)):
                if os.path.isfile(filename):
                    return source_spec(CachedSourceLoader(fullname, filename, self.cache), package, base)
        return None  # not a plain file here (a zip, a namespace directory): ansible-core's loader takes it

    def invalidate_caches(self):
        pass


def install():
    """Put the finder first in ``sys.meta_path`` (once); nothing when the code cache is off or has no home."""
    if any(isinstance(finder, SourceFinder) for finder in sys.meta_path):
        return
    cache = CodeCache.from_environment()
    if cache is not None:
        sys.meta_path.insert(0, SourceFinder(cache))

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

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._zip_imports import (
    CachedSourceLoader, CodeCache, PathFinder)


class SourceFinder(PathFinder):
    """Finds our module_utils and plugin_utils as source files on their package's path (never in a zip): what is
    not a plain file there (a zip, a namespace directory) stays with ansible-core's loader."""

    prefixes = ('ansible_collections.vmcat.libvirt.plugins.module_utils.',
                'ansible_collections.vmcat.libvirt.plugins.plugin_utils.')

    def spec_in(self, entry, fullname, base):
        for filename, package in ((base + '.py', False), (os.path.join(base, '__init__.py'), True)):
            if os.path.isfile(filename):
                return self.spec(CachedSourceLoader(fullname, filename, self.cache), package, base)
        return None


def install():
    """Put the finder first in ``sys.meta_path`` (once); nothing when the code cache is off or has no home."""
    cache = CodeCache.from_environment()
    if cache is not None:
        SourceFinder.install(cache)

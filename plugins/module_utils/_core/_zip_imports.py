# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Import the collection's module_utils from a module's AnsiballZ zip compiling each file once, not twice.

A module imports its code from the zip AnsiballZ sends, which holds sources
only, so every file is compiled on every task.  Python's own ``zipimport``
(3.10 to 3.12 at least) compiles each file twice: ``find_spec`` asks for the
file name, which it works out by compiling the file, and loading compiles it
again.  For the vm module that is about 50 ms of every task (bench/README.md,
issue 15).  ``install()`` puts a finder first in ``sys.meta_path`` that
serves this collection's module_utils out of the same zip with a plain
source loader (one compile); anything else, and anything it cannot serve, is
left to the usual finders.  Outside a zip (unit tests, an exploded module) it
does nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.machinery
import os
import sys
import zipimport

PREFIX = 'ansible_collections.vmcat.libvirt.plugins.module_utils.'


class _ZipSourceLoader(importlib.machinery.SourceFileLoader):
    """Loads one source file out of a zip: its ``get_code`` compiles it once, and no bytecode is written.

    (SourceFileLoader rather than importlib.abc.SourceLoader: importing importlib.abc costs about 19 ms.)
    """

    def __init__(self, fullname, filename, importer):
        super(_ZipSourceLoader, self).__init__(fullname, filename)
        self._importer = importer

    def get_data(self, path):
        return self._importer.get_data(path)

    def path_stats(self, path):
        raise OSError('no bytecode cache for files in a zip')

    def set_data(self, path, data, _mode=None):
        pass


class _ZipFinder:
    """Finds this collection's module_utils inside a zip on a package's path."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIX) or not path:
            return None
        name = fullname.rpartition('.')[2]
        for entry in path:
            importer = _zip_importer(entry)
            if importer is None:
                continue
            try:
                is_package = importer.is_package(fullname)
            except zipimport.ZipImportError:  # not in this entry: try the next one
                continue
            base = os.path.join(entry, name)
            filename = os.path.join(base, '__init__.py') if is_package else base + '.py'
            spec = importlib.machinery.ModuleSpec(fullname, _ZipSourceLoader(fullname, filename, importer), origin=filename,
                                                  is_package=is_package)
            spec.has_location = True
            if is_package:
                spec.submodule_search_locations = [base]
            return spec
        return None

    def invalidate_caches(self):
        pass


def _zip_importer(entry):
    """The zipimporter of a path entry inside a zip, or None for anything else."""
    found = sys.path_importer_cache.get(entry)
    if isinstance(found, zipimport.zipimporter):
        return found
    if found is not None or os.path.isdir(entry):
        return None
    try:
        importer = zipimport.zipimporter(entry)
    except zipimport.ZipImportError:
        return None
    sys.path_importer_cache[entry] = importer
    return importer


def install():
    """Put the finder first in ``sys.meta_path`` (once) when this file itself was loaded from a zip."""
    if not isinstance(globals().get('__loader__'), (zipimport.zipimporter, _ZipSourceLoader)):
        return
    if not any(isinstance(finder, _ZipFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ZipFinder())

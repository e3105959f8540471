# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our module_utils out of a module's AnsiballZ zip, each compiled once (zipimport compiles twice) or read from a cache.

Importing this file installs its finder when the file itself comes out of a zip (the last line), so a module's first
import of ours is this file. Why and how, and the cache's rules: docs/architecture.md, "A module's first import of ours".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import stat
import sys
import time
import zipimport

try:
    from _imp import _fix_co_filename  # CPython: what its own loader uses for code read from __pycache__
except ImportError:  # pragma: no cover - other Pythons keep the file name the code was compiled under
    def _fix_co_filename(code, path):
        pass

PREFIX = 'ansible_collections.vmcat.libvirt.plugins.module_utils.'
CACHE_ENV = 'VMCAT_LIBVIRT_CODE_CACHE'
CACHE_OFF = ('', 'off', 'no', 'false', '0')
MAX_AGE = 30 * 24 * 3600  # seconds a cached file may go without being written before it is removed


class CodeCache:
    """Compiled code of our files in a directory of the remote user, by the hash of what it was compiled from."""

    def __init__(self, directory):
        self.directory = directory
        self._usable = None
        self._pruned = False

    @classmethod
    def from_environment(cls, environ=None):
        """The cache ``VMCAT_LIBVIRT_CODE_CACHE`` asks for (the default directory when unset), or None (off)."""
        environ = os.environ if environ is None else environ
        setting = environ.get(CACHE_ENV)
        if setting is not None and setting.strip().lower() in CACHE_OFF:
            return None
        if setting:
            directory = os.path.expanduser(setting)
        else:
            base = environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
            directory = os.path.join(base, 'vmcat.libvirt', 'code')
        # A home that cannot be found leaves '~' as it is: never a cache relative to wherever the task runs.
        return cls(directory) if os.path.isabs(directory) else None

    @staticmethod
    def key(source):
        digest = hashlib.sha256(importlib.util.MAGIC_NUMBER)
        digest.update(b'optimize=%d\0' % sys.flags.optimize)
        digest.update(source)
        return digest.hexdigest()

    def usable(self):
        """Whether the directory exists (made 0700 if not), belongs to this user and only this user may write it."""
        if self._usable is None:
            try:
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
                info = os.lstat(self.directory)
            except OSError:
                info = None
            self._usable = (info is not None and stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
                            and not info.st_mode & 0o022)
        return self._usable

    def get(self, key):
        """The code object kept under ``key``, or None."""
        if not self.usable():
            return None
        try:
            fd = os.open(os.path.join(self.directory, key), os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
            with os.fdopen(fd, 'rb') as kept:
                if os.fstat(kept.fileno()).st_uid != os.geteuid():
                    return None
                return marshal.loads(kept.read())
        except (OSError, EOFError, ValueError, TypeError):  # missing, unreadable or not code: compile again
            return None

    def put(self, key, code):
        """Keep ``code`` under ``key`` (written to a private file, then renamed into place); never fails the task."""
        if not self.usable():
            return
        path = os.path.join(self.directory, key)
        partial = '%s.%d-%s.part' % (path, os.getpid(), binascii.hexlify(os.urandom(4)).decode('ascii'))
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0), 0o600)
            with os.fdopen(fd, 'wb') as out:
                out.write(marshal.dumps(code))
            os.replace(partial, path)
        except OSError:  # a full or read-only disk: the task goes on with the code it compiled
            try:
                os.unlink(partial)
            except OSError:
                pass
            return
        if not self._pruned:  # once per task: a first run writes dozens of files
            self._pruned = True
            self.prune()

    def prune(self, now=None):
        """Remove files not written for MAX_AGE (code of sources no task sends any more)."""
        limit = (time.time() if now is None else now) - MAX_AGE
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for name in names:
            path = os.path.join(self.directory, name)
            try:
                if os.lstat(path).st_mtime < limit:
                    os.unlink(path)
            except OSError:  # removed by another task meanwhile
                pass


class CachedSourceLoader(importlib.machinery.SourceFileLoader):
    """Loads one source file compiled once, or read from a CodeCache (None: compiled, never kept).

    (SourceFileLoader rather than importlib.abc.SourceLoader: importing importlib.abc costs about 19 ms.)
    """

    def __init__(self, fullname, filename, cache=None):
        super(CachedSourceLoader, self).__init__(fullname, filename)
        self._cache = cache

    def get_code(self, fullname):
        source = self.get_data(self.path)
        key = self._cache.key(source) if self._cache else None
        code = self._cache.get(key) if key else None
        if code is not None:
            _fix_co_filename(code, self.path)  # tracebacks name the file loaded now, not the one compiled then
            return code
        code = self.source_to_code(source, self.path)
        if key:
            self._cache.put(key, code)
        return code

    def path_stats(self, path):
        raise OSError('no __pycache__: the CodeCache keeps compiled code')

    def set_data(self, path, data, _mode=None):
        pass


class _ZipSourceLoader(CachedSourceLoader):
    """Loads one source file out of a zip."""

    def __init__(self, fullname, filename, importer, cache=None):
        super(_ZipSourceLoader, self).__init__(fullname, filename, cache)
        self._importer = importer

    def get_data(self, path):
        return self._importer.get_data(path)


class PathFinder:
    """Finds our files (names under ``prefixes``) on their package's path.

    Each finder defines ``spec_in(entry, fullname, base)``: the spec of ``fullname`` (path ``base`` without suffix)
    in one path entry, or None.
    """

    prefixes = (PREFIX,)

    def __init__(self, cache=None):
        self.cache = cache

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self.prefixes) or not path:
            return None
        name = fullname.rpartition('.')[2]
        for entry in path:
            spec = self.spec_in(entry, fullname, os.path.join(entry, name))
            if spec is not None:
                return spec
        return None

    @staticmethod
    def spec(loader, is_package, base):
        spec = importlib.machinery.ModuleSpec(loader.name, loader, origin=loader.path, is_package=is_package)
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [base]
        return spec

    def invalidate_caches(self):
        pass

    @classmethod
    def install(cls, cache):
        """First in ``sys.meta_path``, once."""
        if not any(isinstance(finder, cls) for finder in sys.meta_path):
            sys.meta_path.insert(0, cls(cache))


class _ZipFinder(PathFinder):
    """Finds this collection's module_utils inside a zip on a package's path."""

    def spec_in(self, entry, fullname, base):
        importer = _zip_importer(entry)
        if importer is None:
            return None
        try:
            is_package = importer.is_package(fullname)
        except zipimport.ZipImportError:  # not in this entry: try the next one
            return None
        filename = os.path.join(base, '__init__.py') if is_package else base + '.py'
        return self.spec(_ZipSourceLoader(fullname, filename, importer, self.cache), is_package, base)


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
    if isinstance(globals().get('__loader__'), (zipimport.zipimporter, _ZipSourceLoader)):
        _ZipFinder.install(CodeCache.from_environment())


install()  # importing this file is what turns it on: out of a zip only, once (docs/architecture.md)

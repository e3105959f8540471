# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new volume from an HTTP(S) URL, checked against the task's checksum.

Its own file because it is the one user of ansible's ``urls`` (about 15 KB
in a module's payload): only the modules that download (volume, template)
import it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vmcat.libvirt.plugins.module_utils._storage import _transfer as transfer
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import VmcatError


def open_url(params):
    """The HTTP response for the task's url (credentials, proxy, certificates and timeout from the options)."""
    from ansible.module_utils.urls import open_url as _open_url  # lazy for start-up time: most runs download nothing
    url = params['url']
    try:
        return _open_url(url, method='GET', url_username=params.get('url_username'),
                         url_password=params.get('url_password'), force_basic_auth=bool(params.get('url_username')),
                         validate_certs=params.get('validate_certs', True), use_proxy=params.get('use_proxy', True),
                         timeout=params.get('timeout') or 30, http_agent='vmcat.libvirt')
    except Exception as exc:  # HTTPError, URLError, SSL and socket errors all say what went wrong
        raise VmcatError("could not download %s: %s; nothing was created" % (transfer.safe_url(url), _url_error(exc)))


def _url_error(exc):
    code = getattr(exc, 'code', None)
    reason = getattr(exc, 'reason', None)
    if code:
        return 'HTTP %s %s' % (code, reason or '')
    return str(reason or exc)


def url_segments(response, url, algorithm, expected, length=None):
    """('data', bytes) pieces of an HTTP response; at the end the size and checksum are verified."""
    digest = transfer.Digest(algorithm)
    while True:
        try:
            chunk = response.read(transfer.CHUNK)
        except Exception as exc:  # socket, SSL and http.client errors (IncompleteRead is no OSError) all say why
            raise VmcatError('download of %s broke off after %d bytes: %s' % (transfer.safe_url(url), digest.size, exc))
        if not chunk:
            break
        digest.data(chunk)
        yield 'data', chunk
    if length is not None and digest.size != length:
        raise VmcatError('download of %s ended after %d of %d bytes' % (transfer.safe_url(url), digest.size, length))
    if digest.hexdigest() != expected:
        raise transfer.ChecksumMismatch('checksum mismatch for %s: expected %s:%s, got %s; the partial volume was '
                                        'removed' % (transfer.safe_url(url), algorithm, expected, digest.text()))


def create_from_url(conn, pool, params, mode=None):
    """A new volume holding the bytes of the task's url, verified against its checksum.

    ``mode`` sets the new file's mode in file-based pools (the template module makes its images 0444).
    """
    algorithm, expected = transfer.parse_checksum(params.get('checksum'))
    response = open_url(params)
    try:
        length = response.headers.get('Content-Length') if getattr(response, 'headers', None) else None
        length = int(length) if length and str(length).isdigit() else None
        segments = url_segments(response, params['url'], algorithm, expected, length)
        return transfer.fill(conn, pool, params['name'], length or 0, segments, False, mode)
    finally:
        response.close()

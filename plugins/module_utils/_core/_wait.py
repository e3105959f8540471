# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one waiter: poll a predicate on a monotonic clock until it holds or time runs out.

Private to vmcat.libvirt: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import WaitTimeout


def wait_for(predicate, timeout, what, interval=0.5, max_interval=5.0, clock=time.monotonic, sleep=time.sleep):
    """Call ``predicate()`` until it returns something truthy; return that value.

    The interval grows by half each try up to ``max_interval``.  On timeout
    raise WaitTimeout naming ``what`` ("VM 'web1' to shut down") and the last
    value seen.
    """
    deadline = clock() + timeout
    delay = interval
    last = None
    while True:
        last = predicate()
        if last:
            return last
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout('timed out after %ss waiting for %s (last seen: %r)' % (timeout, what, last),
                              timeout=timeout)
        sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_interval)

# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one waiter: poll a predicate on a monotonic clock until it holds or time runs out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import WaitTimeout


def backoff(first=0.5, most=5.0, factor=1.5):
    """A delay policy: ``first`` seconds, then each pause ``factor`` times the one before, at most ``most``."""
    def delay(_elapsed, attempt):
        pause = first
        for dummy in range(attempt - 1):
            if pause >= most:
                break
            pause *= factor
        return min(pause, most)
    return delay


def _policy(delay):
    if callable(delay):
        return delay
    pause = float(delay)
    return lambda _elapsed, _attempt: pause


def wait_for(predicate, timeout, what, interval=0.5, max_interval=5.0, clock=time.monotonic, sleep=time.sleep,
             delay=None, between=None):
    """Call ``predicate()`` until it returns something truthy; return that value.

    ``delay`` is the pause before the next try: a number of seconds, or
    ``delay(elapsed, attempt)`` -> seconds, called with the seconds since the
    wait began and the number of tries made so far (1 after the first).  By
    default the pause starts at ``interval`` and grows by half each try up to
    ``max_interval`` (``backoff``).  A pause never runs past the deadline: the
    last try comes at it.  ``between(elapsed, attempt)``, when given, is called
    after each failed try that another will follow (before the pause), for
    work a waiter repeats while it waits.  On timeout raise WaitTimeout naming
    ``what`` ("VM 'web1' to shut down") and the last value seen.
    """
    pause = _policy(backoff(interval, max_interval) if delay is None else delay)
    started = clock()
    deadline = started + timeout
    attempt = 0
    while True:
        last = predicate()
        attempt += 1
        if last:
            return last
        now = clock()
        remaining = deadline - now
        if remaining <= 0:
            raise WaitTimeout('timed out after %ss waiting for %s (last seen: %r)' % (timeout, what, last),
                              timeout=timeout)
        seconds = pause(now - started, attempt)
        if between is not None:
            between(now - started, attempt)
            remaining = deadline - clock()
        sleep(max(0, min(seconds, remaining)))

# -*- coding: utf-8 -*-
"""libvirt errors for unit tests: ``LibvirtFailure`` and the errors libvirt 9.0 and qemu-ga 7.2 gave on the test bed.

The codes and messages of the constants are the real ones (see the module doc
of _guest_agent).  No test functions here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import libvirt


class LibvirtFailure(libvirt.libvirtError):
    """A libvirt error with the code and message libvirt gives."""

    def __init__(self, message, code=1):
        libvirt.libvirtError.__init__(self, message)
        self.code, self.message = code, message

    def get_error_code(self):
        return self.code

    def get_error_message(self):
        return self.message


class AgentReplyError(LibvirtFailure):
    """What libvirt raises when qemu-ga answers a command with an error."""

    def __init__(self, command, text):
        LibvirtFailure.__init__(self, "internal error: unable to execute QEMU agent command '%s': %s" % (command, text))


NOT_RUNNING = LibvirtFailure('Requested operation is not valid: domain is not running', 55)
NOT_CONFIGURED = LibvirtFailure('argument unsupported: QEMU guest agent is not configured', 74)
NOT_CONNECTED = LibvirtFailure('Guest agent is not responding: QEMU guest agent is not connected', 86)
NOT_AVAILABLE = LibvirtFailure('Guest agent is not responding: Guest agent not available for now', 86)
UNSYNCED = LibvirtFailure('guest agent returned ID mismatch', 97)
TIMEOUT_10 = LibvirtFailure("guest agent didn't respond to command within timeout", 112)
DISABLED = AgentReplyError('guest-exec', 'Command guest-exec has been disabled')
NOT_FOUND = AgentReplyError('guest-nonexistent', 'The command guest-nonexistent has not been found')
FAILED = AgentReplyError('guest-file-open', "failed to open file '/nonexistent/x' (mode: 'r'): No such file or directory")
FAILED_10 = LibvirtFailure("guest agent command failed: Parameter 'bogus' is unexpected", 113)
OTHER = LibvirtFailure('An error occurred, but the cause is unknown', 38)

# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The console module: a one-time browser URL (and a virt-viewer file) for a running VM's screen.

The module runs on the console gateway host.  It reads the gateway's
configuration (written by the console_gateway role), finds the VM's VNC or
SPICE graphics in its running definition, refuses what the gateway could
not open (no graphics, a socket listen, a listen beyond loopback when only
loopback is allowed), optionally sets the live graphics password, and
writes a token into the gateway's token store (``_token_store``).  A token
nobody has used yet and that lives long enough is handed out again, so an
identical second run changes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import json
import time

from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.vmcat.libvirt.plugins.module_utils._console._token_store import TokenStore
from ansible_collections.vmcat.libvirt.plugins.module_utils._core import _xml
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._cycle import Outcome
from ansible_collections.vmcat.libvirt.plugins.module_utils._core._errors import InvalidInput, Refused, VmcatError
from ansible_collections.vmcat.libvirt.plugins.module_utils._domain import _graphics as graphics

PROTOCOLS = ('vnc', 'spice')
VNC_PASSWORD_MAX = 8  # the VNC protocol's DES challenge uses 8 bytes of the password; QEMU refuses longer ones
SPICE_GRACE = 10  # seconds a used SPICE token still admits the extra channels spice-html5 opens
_XML_SECURE = 1  # VIR_DOMAIN_XML_SECURE: the running definition with its graphics password
_RUNNING_STATES = (1, 2, 3)  # running, blocked, paused: a paused VM still shows its last screen


def validate(params):
    password = params.get('password')
    if password is not None and params.get('protocol') == 'vnc' and len(password.encode('utf-8')) > VNC_PASSWORD_MAX:
        raise InvalidInput('a VNC password is at most %d bytes (the VNC protocol uses only 8); give a shorter '
                           'password, or use SPICE graphics for longer ones' % VNC_PASSWORD_MAX)
    for key in ('ttl', 'min_lifetime'):
        if params.get(key) is not None and params[key] <= 0:
            raise InvalidInput('%s must be a positive number of seconds (got %d)' % (key, params[key]))


def read_gateway(path):
    """The gateway's configuration (gateway.json), checked for what the module needs."""
    try:
        with open(path) as handle:
            config = json.load(handle)
    except (IOError, OSError) as exc:
        raise VmcatError('cannot read the console gateway configuration %s on this host (%s); run the '
                         'vmcat.libvirt.console_gateway role here first, or run this task on the gateway host '
                         '(delegate_to), or point gateway_config at it' % (path, exc.strerror or exc))
    except ValueError as exc:
        raise VmcatError('the console gateway configuration %s is not valid JSON (%s); run the '
                         'vmcat.libvirt.console_gateway role again to rewrite it' % (path, exc))
    missing = [k for k in ('url', 'token_dir', 'pages') if not config.get(k)]
    if missing:
        raise VmcatError('the console gateway configuration %s lacks %s; run the vmcat.libvirt.console_gateway '
                         'role again to rewrite it' % (path, ', '.join(missing)))
    return config


def is_loopback(address):
    if address in (None, 'localhost'):
        return address == 'localhost'
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name other than localhost: not known to be loopback
        return False


def pick_graphics(root, protocol, where):
    """(element, view) of the graphics device the console shows."""
    elements = graphics.graphics_elements(root)
    if not elements:
        raise Refused('%s has no VNC or SPICE graphics, so there is no screen to open; add one with '
                      'vmcat.libvirt.vm (graphics: [{type: vnc, listen: 127.0.0.1}]) and restart the VM' % where)
    for el in elements:
        if protocol in (None, 'auto', el.get('type')):
            return el, graphics.read_graphics_one(el)
    raise Refused('%s has no %s graphics (it has %s); use protocol: %s, or add %s graphics with vmcat.libvirt.vm'
                  % (where, protocol, ', '.join(el.get('type') for el in elements), elements[0].get('type'),
                     protocol))


def endpoint(el, view, where, loopback_only):
    """(listen host, port, tls port) the gateway connects to, or a Refused saying why it cannot."""
    kind = view['type'].upper()
    if view['socket']:
        raise Refused('%s listens for %s on the UNIX socket %s; the gateway connects over TCP. Give the graphics '
                      'listen: 127.0.0.1 with vmcat.libvirt.vm and restart the VM' % (where, kind, view['socket']))
    port = int(el.get('port') or -1)
    tls_port = int(el.get('tlsPort') or -1)
    if port <= 0 and (view['type'] == 'vnc' or tls_port <= 0):
        raise Refused('%s has no %s port in its running definition (libvirt assigns one at start); restart the VM'
                      % (where, kind))
    listen = view['listen'] or '127.0.0.1'
    if not is_loopback(listen) and loopback_only:
        raise Refused('%s listens for %s on %s, beyond loopback, so anyone who reaches that address can open its '
                      'screen; set the graphics listen: 127.0.0.1 with vmcat.libvirt.vm (the gateway reaches it '
                      'through loopback or an SSH tunnel), or set loopback_only: false to accept it'
                      % (where, kind, listen))
    return listen, port if port > 0 else None, tls_port if tls_port > 0 else None


def node_for(config, uri):
    """The gateway's name for the node of ``uri`` when the gateway reaches it through an SSH tunnel."""
    for node in config.get('nodes') or []:
        if node.get('uri') == uri:
            return node.get('name')
    return None


def viewer_file(view, host, port, tls_port, password, title):
    """The text of a virt-viewer (.vv) file for SPICE: remote-viewer opens it and deletes it."""
    lines = ['[virt-viewer]', 'type=spice', 'host=%s' % host]
    if port:
        lines.append('port=%d' % port)
    if tls_port:
        lines.append('tls-port=%d' % tls_port)
    if password:
        lines.append('password=%s' % password)
    lines += ['title=%s' % title, 'delete-this-file=1', 'fullscreen=0', '']
    return '\n'.join(lines)


def _iso(timestamp):
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace('+00:00', 'Z')


class Console:
    """One task's view of a VM's console."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.p = ctx.params
        self.config = read_gateway(self.p['gateway_config'])
        self.store = TokenStore(self.config['token_dir'])

    def where(self, name):
        return "VM '%s' on %s" % (name, self.ctx.conn.uri)

    def view(self, name, protocol=None, tokens=0, graphics_view=None, password_set=None):
        return dict(vm=name, protocol=protocol, graphics=graphics_view, tokens=tokens, password_set=password_set)

    def absent(self):
        conn = self.ctx.conn
        name = self.p['name']
        count = self.store.count(name, conn.uri)
        total = self.store.revoke(name, conn.uri, dry_run=True)
        if total:
            self.ctx.act('revoke %d token(s)' % total, self.store.revoke, name, conn.uri)
        before = self.view(name, tokens=count)
        return Outcome(bool(total), before, self.view(name), revoked=total, url=None, actions=self.ctx.actions)

    def present(self):
        ctx, p, conn = self.ctx, self.p, self.ctx.conn
        dom = conn.require_domain(p['name'])
        name = dom.name()
        where = self.where(name)
        with conn.translated('read the state of', "VM '%s'" % name):
            state = dom.state()[0]
        if state not in _RUNNING_STATES:
            raise Refused('%s is not running, so it has no screen to show; start it first (vmcat.libvirt.vm with '
                          'state: running)' % where)
        with conn.translated('read the running definition of', "VM '%s'" % name):
            root = _xml.parse(dom.XMLDesc(_XML_SECURE), 'running definition of %s' % where)
        el, gview = pick_graphics(root, p['protocol'], where)
        protocol = gview['type']
        if protocol == 'vnc' and p.get('password') is not None:
            validate(dict(p, protocol='vnc'))
        listen, port, tls_port = endpoint(el, gview, where, p['loopback_only'])
        if protocol == 'spice' and port is None:
            raise Refused('%s has SPICE on a TLS port only (%d); spice-html5 in the browser and the gateway need '
                          'the plain port: give the graphics autoport or a port with vmcat.libvirt.vm'
                          % (where, tls_port))
        if not self.config['pages'].get(protocol):
            raise Refused('%s shows its screen over %s, but the console gateway (%s) serves no %s page; install '
                          'spice-html5 on the gateway (console_gateway_spice_html5_dir) and run the '
                          'vmcat.libvirt.console_gateway role again, or open the VM with remote-viewer'
                          % (where, protocol.upper(), p['gateway_config'], protocol.upper()))
        graphics_view = dict(type=protocol, listen=listen, port=port, tls_port=tls_port)
        had_password = bool(el.get('passwd'))
        password_set = had_password
        if p.get('password') is not None and p['password'] != (el.get('passwd') or ''):
            ctx.act('set %s password' % protocol, graphics.set_live_password, dom, el, p['password'])
            password_set = bool(p['password'])
        node = node_for(self.config, conn.uri)
        now = time.time()
        before = self.view(name, protocol, self.store.count(name, conn.uri, now), graphics_view, had_password)
        record = None if p['new_token'] else next(
            (r for r in self.store.unused(name, conn.uri, protocol, now) if r['expires_at'] - now >= p['min_lifetime']),
            None)
        if record is None:
            ttl = p['ttl'] or int(self.config.get('token_ttl') or 120)
            grace = int(self.config.get('token_grace', SPICE_GRACE)) if protocol == 'spice' else 0
            target = dict(host='127.0.0.1' if listen in ('0.0.0.0', '::') else listen, port=port or tls_port)
            if node:
                target['node'] = node
            record = ctx.act('issue a %s token' % protocol, self.store.issue, name, conn.uri, protocol, target, ttl,
                             grace, now)
            expires_at = (record or {}).get('expires_at', now + ttl)
            tokens = before['tokens'] + 1
        else:
            expires_at = record['expires_at']
            tokens = before['tokens']
        after = self.view(name, protocol, tokens, graphics_view, password_set)
        extra = dict(protocol=protocol, expires_at=_iso(expires_at), url=None, vv=None, actions=ctx.actions)
        if record is not None:
            extra['url'] = self.config['url'].rstrip('/') + self.config['pages'][protocol].format(token=record['token'])
        if protocol == 'spice':
            host = p.get('viewer_host') or ((urlsplit(conn.uri).hostname or listen) if node else listen)
            extra['vv'] = viewer_file(gview, host, port, tls_port, p.get('password') or el.get('passwd'), name)
        return Outcome(bool(ctx.actions), before, after, **extra)


def console(ctx):
    """The console module."""
    validate(ctx.params)
    state = Console(ctx)
    if ctx.params['state'] == 'absent':
        return state.absent()
    return state.present()

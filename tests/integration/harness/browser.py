# -*- coding: utf-8 -*-
# Copyright: vmcat.libvirt contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive Debian's headless Chromium through its DevTools protocol, for the console tests.

    with Browser() as browser:
        browser.open('https://127.0.0.1:6080/novnc/vnc.html#autoconnect=true&path=...')
        browser.wait_for(NOVNC_CONNECTED, timeout=30)
        png = browser.canvas_png(NOVNC_CANVAS)
        browser.type_text('marker\\n', focus=NOVNC_CANVAS)
        browser.screenshot('page.png')
        print(browser.console_log())

Chromium (``/usr/bin/chromium``) runs headless with a private profile in a
temporary directory, trusts any certificate (the gateway's is self-signed)
and sends nothing beyond loopback: every other address goes to a proxy that
does not exist, and background networking is off.  It is always killed when
the ``with`` block ends, also on errors, and dies with the Python process
that started it (PR_SET_PDEATHSIG).

The protocol runs over one WebSocket (websocket-client) to the page target;
events that arrive between calls are kept: console messages, exceptions and
log entries (a refused WebSocket shows up there) for :meth:`console_log`.
"""

from __future__ import annotations

import base64
import ctypes
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import websocket

__all__ = ['Browser', 'BrowserError', 'NOVNC_CANVAS', 'NOVNC_CONNECTED', 'NOVNC_FAILED', 'NOVNC_STARTED', 'SPICE_CANVAS',
           'SPICE_CONNECTED']

CHROMIUM = '/usr/bin/chromium'

# noVNC 1.3 (vnc.html): <html> gets class noVNC_connected once the RFB session is up; a refused or
# dropped session shows the status bar with class noVNC_status_error ("Failed to connect to server").
NOVNC_CONNECTED = "document.documentElement.classList.contains('noVNC_connected')"
NOVNC_FAILED = "!!document.querySelector('#noVNC_status.noVNC_status_error')"
# noVNC has begun to connect (its WebSocket may have used the token): the page must not be loaded again.
NOVNC_STARTED = ("['noVNC_connecting', 'noVNC_connected'].some(c => document.documentElement.classList.contains(c))"
                 " || !!document.querySelector('#noVNC_status.noVNC_open')")
NOVNC_CANVAS = '#noVNC_container canvas'
# spice-html5 0.3 (spice_auto.html): the primary surface is the canvas spice_surface_0.
SPICE_CANVAS = '#spice_surface_0'
SPICE_CONNECTED = "!!document.getElementById('spice_surface_0')"

_PR_SET_PDEATHSIG = 1
NETWORK_CHANGED = 'net::ERR_NETWORK_CHANGED'


class BrowserError(RuntimeError):
    """Chromium did not start, a DevTools call failed, or a page condition was not reached."""


def _die_with_parent():
    """In the child before exec: SIGKILL when the parent (this Python process) goes away."""
    ctypes.CDLL('libc.so.6', use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _key(key, code, key_code, text=None, shift=False):
    return {'key': key, 'code': code, 'windowsVirtualKeyCode': key_code, 'text': text, 'shift': shift}


def _key_table():
    """Character -> the key event that types it on a US keyboard."""
    table = {}
    for letter in 'abcdefghijklmnopqrstuvwxyz':
        code = 'Key' + letter.upper()
        table[letter] = _key(letter, code, ord(letter.upper()), letter)
        table[letter.upper()] = _key(letter.upper(), code, ord(letter.upper()), letter.upper(), shift=True)
    for digit in '0123456789':
        table[digit] = _key(digit, 'Digit' + digit, ord(digit), digit)
    for char, code, key_code in ((' ', 'Space', 32), ('-', 'Minus', 189), ('=', 'Equal', 187), ('.', 'Period', 190),
                                 (',', 'Comma', 188), ('/', 'Slash', 191), (';', 'Semicolon', 186)):
        table[char] = _key(char, code, key_code, char)
    for char, base in (('_', '-'), ('+', '='), (':', ';')):
        table[char] = dict(table[base], key=char, text=char, shift=True)
    table['\n'] = _key('Enter', 'Enter', 13, '\r')
    table['\b'] = _key('Backspace', 'Backspace', 8)
    return table


KEYS = _key_table()
SHIFT = _key('Shift', 'ShiftLeft', 16)
SHIFT_MODIFIER = 8


class Browser:
    """One headless Chromium with one page, driven through the DevTools protocol."""

    def __init__(self, chromium=CHROMIUM, window=(1280, 800), timeout=30.0):
        self.chromium = chromium
        self.window = window
        self.timeout = timeout
        self.profile = None
        self.process = None
        self.port = None
        self._ws = None
        self._ids = itertools.count(1)
        self._log = []

    # -- life cycle ----------------------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        """Start Chromium and attach to its page; raises BrowserError with Chromium's stderr when it fails."""
        self.profile = tempfile.mkdtemp(prefix='vmcat-chromium-')
        args = [
            self.chromium, '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
            '--remote-debugging-port=0', '--user-data-dir=' + self.profile, '--ignore-certificate-errors',
            '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--disable-sync',
            '--disable-background-networking', '--disable-component-update', '--disable-default-apps',
            '--disable-domain-reliability', '--no-pings', '--mute-audio',
            # loopback goes direct (Chromium's implicit bypass); anything else meets a closed port
            '--proxy-server=http://127.0.0.1:9',
            '--window-size=%d,%d' % self.window, 'about:blank',
        ]
        stderr = open(os.path.join(self.profile, 'chromium.stderr'), 'wb')  # pylint: disable=consider-using-with
        try:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                args, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True,
                preexec_fn=_die_with_parent)  # pylint: disable=subprocess-popen-preexec-fn
        finally:
            stderr.close()
        try:
            self.port = self._debugging_port()
            self._ws = websocket.create_connection(self._page_endpoint(), timeout=self.timeout, suppress_origin=True)
            for domain in ('Page', 'Runtime', 'Log'):
                self.call(domain + '.enable')
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        """Kill Chromium (its whole process group) and remove its profile; safe to call twice."""
        if self._ws is not None:
            try:
                self._ws.close()
            except (OSError, websocket.WebSocketException):
                pass  # Chromium is killed next anyway
            self._ws = None
        if self.process is not None:
            self._signal_group(signal.SIGKILL, wait=10)  # nothing of its throw-away profile is worth a clean exit
            self.process.wait()
            self.process = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def _signal_group(self, sig, wait):
        """Send sig to Chromium's process group (its own session); True once no process of it is left."""
        group = self.process.pid
        deadline = time.monotonic() + wait
        try:
            os.killpg(group, sig)
            while time.monotonic() < deadline:
                self.process.poll()  # reap the main process, or the group never empties
                os.killpg(group, 0)
                time.sleep(0.05)
        except ProcessLookupError:
            return True
        return False

    def _stderr_tail(self, size=2000):
        try:
            with open(os.path.join(self.profile, 'chromium.stderr'), errors='replace') as f:
                return f.read()[-size:]
        except (OSError, TypeError):
            return ''

    def _debugging_port(self):
        """The port Chromium chose, from DevToolsActivePort in its profile."""
        path = os.path.join(self.profile, 'DevToolsActivePort')
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserError('%s exited with %s before its DevTools port opened:\n%s'
                                   % (self.chromium, self.process.returncode, self._stderr_tail()))
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise BrowserError('%s did not open its DevTools port within %ss:\n%s'
                           % (self.chromium, self.timeout, self._stderr_tail()))

    def _page_endpoint(self):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an http_proxy from the env
        with opener.open('http://127.0.0.1:%d/json/list' % self.port, timeout=self.timeout) as response:
            targets = json.loads(response.read().decode())
        pages = [t for t in targets if t.get('type') == 'page']
        if not pages:
            raise BrowserError('Chromium has no page target: %s' % targets)
        return pages[0]['webSocketDebuggerUrl']

    # -- protocol ------------------------------------------------------------------------------------

    def call(self, method, **params):
        """Send one DevTools command and return its result; events seen meanwhile are kept."""
        if self._ws is None:
            raise BrowserError('the browser is not running (call start() or use "with Browser()")')
        ident = next(self._ids)
        self._ws.send(json.dumps({'id': ident, 'method': method, 'params': params}))
        deadline = time.monotonic() + self.timeout
        while True:
            self._ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                message = json.loads(self._ws.recv())
            except websocket.WebSocketTimeoutException:
                raise BrowserError('Chromium did not answer %s within %ss' % (method, self.timeout)) from None
            if message.get('id') == ident:
                if 'error' in message:
                    raise BrowserError('%s failed: %s' % (method, message['error'].get('message')))
                return message.get('result', {})
            self._keep_event(message)

    def _keep_event(self, message):
        method, params = message.get('method'), message.get('params', {})
        if method == 'Runtime.consoleAPICalled':
            text = ' '.join(str(arg.get('value', arg.get('description', ''))) for arg in params.get('args', []))
            self._log.append('console.%s: %s' % (params.get('type'), text))
        elif method == 'Runtime.exceptionThrown':
            details = params.get('exceptionDetails', {})
            self._log.append('exception: %s' % details.get('exception', {}).get('description', details.get('text')))
        elif method == 'Log.entryAdded':
            entry = params.get('entry', {})
            where = ' (%s)' % entry['url'].split('#')[0] if entry.get('url') else ''
            self._log.append('log.%s: %s%s' % (entry.get('level'), entry.get('text'), where))

    def console_log(self):
        """What the page printed so far: console calls, uncaught exceptions and browser log entries."""
        self.evaluate('0')  # collect the events that arrived since the last call
        return list(self._log)

    # -- pages ---------------------------------------------------------------------------------------

    def open(self, url, timeout=None, started=None, attempts=3):
        """Navigate to url and wait until the document has loaded.

        Chromium aborts the requests in flight when the machine's network interfaces change
        (ERR_NETWORK_CHANGED; on a test machine other VMs' tap devices come and go), which can leave a
        page without its scripts. Such a load is repeated, up to attempts times in all, unless the page
        already started its work: the JavaScript condition started is true (e.g. noVNC is connecting,
        which may have used a one-time token).
        """
        for attempt in range(1, attempts + 1):
            seen = len(self._log)
            result = self.call('Page.navigate', url=url)
            if result.get('errorText') and attempt == attempts:
                raise BrowserError('could not open %s: %s' % (url.split('#')[0], result['errorText']))
            if not result.get('errorText'):
                self.wait_for("document.readyState === 'complete'", timeout)
                self.evaluate('0')  # collect the log entries of the load
                if not any(NETWORK_CHANGED in line for line in self._log[seen:]):
                    return attempt
                if attempt == attempts or (started and self.evaluate(started)):
                    return attempt
            self._log.append('harness: the network changed while loading %s; loading it again' % url.split('#')[0])
            self.call('Page.navigate', url='about:blank')
        return attempts

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = self.call('Runtime.evaluate', expression=expression, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in result:
            details = result['exceptionDetails']
            error = details.get('exception', {}).get('description', details.get('text'))
            raise BrowserError('%s raised %s' % (expression, error))
        return result.get('result', {}).get('value')

    def wait_for(self, condition, timeout=None, interval=0.05):
        """Poll a JavaScript condition until it is truthy; the seconds it took.

        Raises BrowserError with the end of the console log when timeout (default: the browser's) passes.
        """
        timeout = self.timeout if timeout is None else timeout
        started = time.monotonic()
        while not self.evaluate(condition):
            if time.monotonic() - started > timeout:
                raise BrowserError('%s not true after %ss; console log:\n%s'
                                   % (condition, timeout, '\n'.join(self._log[-20:])))
            time.sleep(interval)
        return time.monotonic() - started

    def canvas_png(self, selector):
        """The PNG bytes of a canvas element (toDataURL): its own pixels, whatever its on-page scale."""
        url = self.evaluate('document.querySelector(%s).toDataURL("image/png")' % json.dumps(selector))
        if not url or not url.startswith('data:image/png;base64,'):
            raise BrowserError('no canvas matches %s' % selector)
        return base64.b64decode(url.split(',', 1)[1])

    def screenshot(self, path):
        """Save a PNG of the whole visible page to path."""
        data = base64.b64decode(self.call('Page.captureScreenshot', format='png')['data'])
        with open(path, 'wb') as f:
            f.write(data)
        return path

    # -- keyboard ------------------------------------------------------------------------------------

    def focus(self, selector):
        """Give the keyboard focus to the element selector (noVNC reads keys on its canvas)."""
        if not self.evaluate('(e => !!e && (e.focus(), true))(document.querySelector(%s))' % json.dumps(selector)):
            raise BrowserError('no element matches %s' % selector)

    def press(self, char, hold=0.02):
        """Type one character through the page as a real key press (keyDown, keyUp); shift when it needs it."""
        try:
            key = KEYS[char]
        except KeyError:
            raise BrowserError('no key for %r; keys: %s' % (char, ''.join(sorted(KEYS)).strip())) from None
        modifiers = SHIFT_MODIFIER if key['shift'] else 0
        event = {name: key[name] for name in ('key', 'code', 'windowsVirtualKeyCode')}
        event['nativeVirtualKeyCode'] = key['windowsVirtualKeyCode']
        if key['shift']:
            self._key_event('rawKeyDown', SHIFT, modifiers)
        if key['text'] is None:  # Backspace: a key without a character
            self.call('Input.dispatchKeyEvent', type='rawKeyDown', modifiers=modifiers, **event)
        else:
            self.call('Input.dispatchKeyEvent', type='keyDown', modifiers=modifiers, text=key['text'],
                      unmodifiedText=key['text'], **event)
        time.sleep(hold)
        self.call('Input.dispatchKeyEvent', type='keyUp', modifiers=modifiers, **event)
        if key['shift']:
            self._key_event('keyUp', SHIFT, 0)

    def _key_event(self, kind, key, modifiers):
        self.call('Input.dispatchKeyEvent', type=kind, modifiers=modifiers, key=key['key'], code=key['code'],
                  windowsVirtualKeyCode=key['windowsVirtualKeyCode'], nativeVirtualKeyCode=key['windowsVirtualKeyCode'])

    def type_text(self, text, focus=None, gap=0.03):
        """Type text key by key (letters, digits, space, - = . , / ; _ + :, newline as Enter, \\b as Backspace)."""
        unknown = sorted(set(text) - set(KEYS))
        if unknown:
            raise BrowserError('cannot type %s; keys: %s' % (unknown, ''.join(sorted(KEYS)).strip()))
        if focus:
            self.focus(focus)
        for char in text:
            self.press(char)
            time.sleep(gap)

# -*- coding: utf-8 -*-
"""Stand-in for the pip bootstrap script ansible-test downloads.

ansible-test creates its sanity venvs without pip and fetches a get-pip
script from a host that this project's machines cannot reach.  It runs the
script as ``__main__`` with pip's arguments (``pip==X`` and packages), so
this stand-in bootstraps pip from the standard library's ``ensurepip`` and
then installs the requested pip and packages from the package index.
tests/run_all.py puts it in ansible-test's cache under the expected name.
"""

import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'],
                      stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q'] + args)

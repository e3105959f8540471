# -*- coding: utf-8 -*-
# Sphinx configuration of the vmcat.libvirt docs site.  tests/stage_docs.py (`make docs`, make test's docs
# stage) puts the plugin and role pages that antsibull-docs writes under collections/, the Markdown guides
# at their repository paths (docs/, roles/<role>/README.md, bench/README.md) and this folder's index.rst at
# the top, then runs sphinx-build with warnings as errors.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

project = 'vmcat.libvirt'
copyright = 'vmcat.libvirt contributors'  # pylint: disable=redefined-builtin
title = 'vmcat.libvirt documentation'
html_short_title = 'vmcat.libvirt'

extensions = ['sphinx_antsibull_ext', 'myst_parser', 'ansible_refs']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
html_use_modindex = False
html_use_index = False
html_copy_source = False
html_theme_options = {'display_version': False}

default_role = 'any'
nitpicky = True

# The guides are Markdown: links between them become document links, `#heading` links work down to ###.
myst_heading_anchors = 3

# -*- coding: utf-8 -*-
"""Sphinx extension: references into Ansible's own documentation point at docs.ansible.com.

The plugin pages that antsibull-docs writes refer to ansible-core's pages (``common_return_values``), to
ansible.builtin plugins (``ansible_collections.ansible.builtin.copy_module__parameter-src``) and to
ansible-core's environment variables (``ANSIBLE_CACHE_PLUGIN``).  The docs site of docs.ansible.com resolves
them through intersphinx; this site is built without network, so these three kinds are linked to their
pages there directly.  Any other reference that Sphinx cannot resolve stays a warning, which fails the build.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from docutils import nodes

DOCSITE = 'https://docs.ansible.com/ansible/latest/'
CORE_LABELS = {
    'common_return_values': 'reference_appendices/common_return_values.html',
    'action_plugins': 'plugins/action.html',
    'callback_plugins': 'plugins/callback.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
}
BUILTIN = re.compile(r'^ansible_collections\.ansible\.builtin\.(?P<plugin>[a-z0-9_]+_[a-z]+)'
                     r'(?:__(?P<anchor>(?:parameter|return|attribute)-[\w/.-]+))?$')
ENVVAR = re.compile(r'^ANSIBLE_[A-Z0-9_]+$')


def external_url(reftype, target):
    """The docs.ansible.com address of one of the three kinds of reference, or None."""
    if reftype == 'envvar' and ENVVAR.match(target):
        return '%sreference_appendices/config.html#envvar-%s' % (DOCSITE, target)
    if reftype != 'ref':
        return None
    if target in CORE_LABELS:
        return DOCSITE + CORE_LABELS[target]
    match = BUILTIN.match(target)
    if match:
        url = '%scollections/ansible/builtin/%s.html' % (DOCSITE, match.group('plugin'))
        return url + ('#%s' % match.group('anchor') if match.group('anchor') else '')
    return None


def missing_reference(app, env, node, contnode):  # pylint: disable=unused-argument
    url = external_url(node.get('reftype'), node.get('reftarget', ''))
    if url is None:
        return None
    reference = nodes.reference('', '', internal=False, refuri=url)
    reference.append(contnode)
    return reference


def setup(app):
    app.connect('missing-reference', missing_reference)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}

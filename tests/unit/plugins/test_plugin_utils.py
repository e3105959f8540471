# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleError

from ansible_collections.vmcat.libvirt.plugins.plugin_utils._libvirt import plugin_connection


def test_plugin_connection_reads_and_raises_ansible_errors():
    with plugin_connection('test:///default') as conn:
        assert conn.domain_names() == ['test']
    with pytest.raises(AnsibleError) as err:
        with plugin_connection('test:///default') as conn:
            conn.require_pool('nope')
    assert "pool 'nope' not found on test:///default" in str(err.value)

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for the connector_test module: PKI file paths are read on the controller (see plugin_utils/pki_action.py)."""
from __future__ import annotations

from ansible_collections.kibana_gitops.connectors.plugins.plugin_utils.pki_action import PkiActionBase


class ActionModule(PkiActionBase):
    PKI_LOCATIONS = ('specs[].pki',)

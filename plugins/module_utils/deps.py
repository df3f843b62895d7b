# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The message for a missing third-party library: Ansible's standard one, plus the pip command that fixes it."""
from __future__ import annotations

import sys

from ansible.module_utils.basic import missing_required_lib

# import name -> pip package name, where they differ
_PIP_NAMES = {'PyYAML': 'PyYAML', 'yaml': 'PyYAML'}


def missing_lib(library, reason=None):
    """missing_required_lib's text, then the command that installs the library into the Python that needs it."""
    return '%s Install it with: %s -m pip install %s' % (
        missing_required_lib(library, reason=reason), sys.executable or 'python3', _PIP_NAMES.get(library, library))

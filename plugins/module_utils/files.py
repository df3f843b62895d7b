# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the collection writes for the user (test reports, exported specs)."""
from __future__ import annotations

import os
import tempfile


def write_atomically(path, text, mode=0o644):
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so a pipeline
    reading the file while a re-run writes it sees the old or the new content, never half of one."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    handle, tmp = tempfile.mkstemp(dir=folder, prefix='.%s-' % os.path.basename(path), suffix='.tmp')
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

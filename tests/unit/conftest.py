# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Make ``ansible_collections.ocpv.density`` importable for plain ``pytest tests/unit``.

``make setup`` links this checkout as ``.collections/ansible_collections/ocpv/density``; putting
``.collections`` on sys.path merges it into the ``ansible_collections`` namespace package that the
installed ``ansible`` package (kubernetes.core, ...) already provides.
"""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collections_dir():
    checkout = os.path.join(ROOT, '.collections')
    if os.path.isdir(os.path.join(checkout, 'ansible_collections', 'ocpv', 'density', 'plugins')):
        return checkout
    # No `make setup` link: build the same layout in a temporary directory.
    temp = tempfile.mkdtemp(prefix='ocpv-density-collections-')
    os.makedirs(os.path.join(temp, 'ansible_collections', 'ocpv'))
    os.symlink(ROOT, os.path.join(temp, 'ansible_collections', 'ocpv', 'density'))
    return temp


COLLECTIONS = _collections_dir()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

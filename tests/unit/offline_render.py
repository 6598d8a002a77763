# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Offline rendering (README "Offline rendering for GitOps") of every profile, once per test
process: what the real-component checks (Ignition's validator, promtool) judge. No cluster: the
kubeconfig points at a closed port, so a request would fail the run."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROFILES_FILE = os.path.join(ROOT, 'plugins', 'module_utils', 'profiles.yml')
# A fixed size per node, or the per-node ratio from overcommit (both are documented inputs).
VARIANTS = {'size': ['swap_size_mib=4096'], 'ratio': ['overcommit=150']}
_TMP = tempfile.mkdtemp(prefix='ocpv-density-render-')
atexit.register(shutil.rmtree, _TMP, True)


def profiles():
    """Every implemented profile row."""
    with open(PROFILES_FILE) as f:
        rows = yaml.safe_load(f)['profiles']
    return [name for name, row in rows.items() if row.get('implemented')]


def profile_row(name):
    with open(PROFILES_FILE) as f:
        return yaml.safe_load(f)['profiles'][name]


@functools.lru_cache(maxsize=None)
def render(profile, variant='size'):
    """{file name: the one YAML document} the site playbook writes for `profile`."""
    out = os.path.join(_TMP, '%s-%s' % (profile, variant))
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), 'playbooks/site.yml',
           '-e', 'density_profile=%s' % profile, '-e', 'render_dir=%s' % out]
    for var in VARIANTS[variant]:
        cmd += ['-e', var]
    env = {'PATH': '/usr/bin:/bin', 'HOME': _TMP, 'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
           'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_LOCALHOST_WARNING': 'false',
           'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
           'K8S_AUTH_HOST': 'https://127.0.0.1:1', 'KUBECONFIG': os.path.join(_TMP, 'no-such-kubeconfig')}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise AssertionError('offline render of %s (%s) failed:\n%s\n%s' % (profile, variant, proc.stdout[-3000:], proc.stderr[-2000:]))
    docs = {}
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name)) as f:
            docs[name] = yaml.safe_load(f)
    return docs

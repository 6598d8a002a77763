# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Ignition's own validator judges every MachineConfig the collection renders, for every profile.

The validator is localcluster/ignition-validate: github.com/coreos/ignition/v2 v2.20.0, the
version openshift/machine-config-operator vendors (go.mod, release-4.19 1a6905d98 ..
release-4.22 9027c94cd), parsing and validating as MCO's common/helpers.go IgnParseWrapper and
ValidateIgnition do, up to the newest spec the oldest release of the profile parses
(localcluster/releases.py ignition_max). Built by `make real-components`.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from offline_render import profile_row, profiles, render
from localcluster import realtools
from localcluster import releases


def oldest_spec(profile):
    """'3.4' or '3.5': the newest Ignition spec every release of the profile's range parses."""
    ocp = profile_row(profile)['ocp']
    names = [r for r in releases.SUPPORTED
             if releases.minor(ocp['min']) <= releases.minor(r) <= releases.minor(ocp['max'] or releases.SUPPORTED[-1])]
    newest = min(releases.get(r).ignition_max for r in names)
    return '%d.%d' % newest[:2]


def machine_configs(profile, variant):
    return {name: doc for name, doc in render(profile, variant).items() if doc['kind'] == 'MachineConfig'}


@pytest.mark.parametrize('variant', ['size', 'ratio'])
@pytest.mark.parametrize('profile', profiles())
def test_rendered_machine_configs_pass_ignitions_validator(profile, variant):
    """Seen to fail on a broken input: with the unit `swap-provision.service` renamed to `swap-provision`
    in roles/swap/templates/machineconfig.yml.j2, the library answered "invalid systemd unit extension";
    with a relative file path, "path not absolute"."""
    mcs = machine_configs(profile, variant)
    assert mcs, 'no MachineConfig rendered for %s' % profile
    spec = oldest_spec(profile)
    errors = realtools.ignition_errors([(mc['spec']['config'], spec) for mc in mcs.values()])
    assert errors == [None] * len(mcs), dict(zip(mcs, errors))


def test_the_validator_refuses_a_broken_rendered_config():
    """The same rendered config with one path made relative: the check can fail."""
    mc = next(iter(machine_configs('manual-4.17', 'size').values()))
    config = dict(mc['spec']['config'])
    files = [dict(f) for f in config['storage']['files']]
    files[0]['path'] = files[0]['path'].lstrip('/')
    config['storage'] = dict(config['storage'], files=files)
    error, = realtools.ignition_errors([(config, '3.4')])
    assert error and 'path not absolute' in error, error


@pytest.mark.parametrize('profile,spec', [('tp-4.16', '3.4'), ('manual-4.17', '3.4'), ('hco-managed', '3.5'),
                                          ('dropin-4.21', '3.5'), ('native', '3.5')])
def test_oldest_spec_per_profile(profile, spec):
    assert oldest_spec(profile) == spec

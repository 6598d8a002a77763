# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""plugins/modules/render_files.py: every object or none, nothing in check mode."""

import os

import pytest
import yaml

from ansible_collections.ocpv.density.plugins.modules import render_files as r

OBJECTS = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wasp"}},
           {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:openshift:scc:privileged"}},
           {"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
            "metadata": {"name": "90-worker-swap"}, "spec": {"config": {"ignition": {"version": "3.4.0"}}}}]


def test_writes_one_document_per_object_then_nothing_new(tmp_path):
    dest = tmp_path / "out"
    files, changed = r.write_all(OBJECTS, str(dest))
    assert files == changed == ["namespace-wasp.yaml", "clusterrole-system-openshift-scc-privileged.yaml",
                                "machineconfig-90-worker-swap.yaml"]
    assert yaml.safe_load((dest / "machineconfig-90-worker-swap.yaml").read_text()) == OBJECTS[2]
    assert r.write_all(OBJECTS, str(dest)) == (files, [])
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no staging directory left


def test_check_mode_writes_nothing(tmp_path):
    files, changed = r.write_all(OBJECTS, str(tmp_path / "out"), check_mode=True)
    assert changed == files and not (tmp_path / "out").exists()


@pytest.mark.parametrize("obstacle", ["dir", "symlink"])
def test_an_obstacle_stops_before_the_first_file_moves(tmp_path, obstacle):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    target = dest / "machineconfig-90-worker-swap.yaml"
    if obstacle == "dir":
        target.mkdir()
    else:
        target.symlink_to("/etc/passwd")
    with pytest.raises(ValueError):
        r.write_all(OBJECTS, str(dest))
    assert sorted(os.listdir(dest)) == ["keep.txt", "machineconfig-90-worker-swap.yaml"]
    assert sorted(os.listdir(tmp_path)) == ["out"]


@pytest.mark.parametrize("obj", [
    {"kind": "Namespace", "metadata": {"name": "../etc"}},
    {"kind": "Namespace", "metadata": {"name": "a/b"}},
    {"kind": "Name space", "metadata": {"name": "a"}},
    {"kind": "Namespace", "metadata": {"name": "wasp\n"}},
])
def test_names_that_are_not_file_names_are_refused(tmp_path, obj):
    with pytest.raises(ValueError):
        r.write_all([obj], str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_two_objects_for_one_file_are_refused(tmp_path):
    with pytest.raises(ValueError):
        r.write_all([OBJECTS[0], OBJECTS[0]], str(tmp_path / "out"))

"""Integration tests run against the local emulated OpenShift cluster (localcluster/).

Fixtures
- ``cluster`` (session): the cluster ``default`` (env ``OCPV_CLUSTER_NAME``; ``OCPV_CLUSTER_RELEASE``
  and ``OCPV_CLUSTER_TOPOLOGY`` for a new one), started once per test run or reused when one is
  already up and healthy. At the end of the session it is stopped if a test session started it
  and no other test session (another pytest process) still uses it, unless ``OCPV_KEEP_CLUSTER=1``;
  a cluster started by hand is left running.
- ``second_cluster`` (module): a second cluster ``second`` on its own ports, for test_fleet.py only;
  same rules, but stopped after that module (an idle cluster costs a sixth of a core).
- Under pytest-xdist (``make integration`` runs two workers, one test file per worker) each worker
  gets its own clusters: the names above get the worker id as suffix (``default-gw0``), so two
  workers never reset each other's cluster. Clusters a test file starts by its own name
  (``profiles``, ``roles-sno``) stay with that file's worker.
- The longest files are collected first (``LONGEST_FIRST``) and the Makefile passes
  ``--no-loadscope-reorder``, so the two workers start with them instead of xdist's default
  (files with the most tests first), which left the one-test, 15-minute soak for the end.

Helpers (import them from ``clusterlib``, not from conftest): ``start_cluster(name, ...)`` for any
further cluster, ``wait_for(predicate, ...)``, and the ``Cluster`` handle the fixtures yield,
which gives the kubeconfig path, run dir, audit log, ``api_client()``, ``node_dir(node)``,
``audit_marker()`` / ``audit_events(since_marker, user='ocpv-admin', verbs=None)``,
``write_events(since_marker)``, ``env()`` (for ansible-playbook / ansible-runner subprocesses)
and ``reset(release=None)``.
"""

import os

import pytest
from clusterlib import session_cluster

# Measured wall time, longest first (CI log, 2026-11-24): profiles ~23 min, soak ~15, site ~10.
LONGEST_FIRST = ("test_profiles.py", "test_soak.py", "test_site.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: tests keep their order within a file


def _per_worker(name):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{name}-{worker}" if worker else name


@pytest.fixture(scope="session")
def cluster():
    yield from session_cluster(_per_worker(os.environ.get("OCPV_CLUSTER_NAME", "default")))


@pytest.fixture(scope="module")
def second_cluster():
    yield from session_cluster(_per_worker("second"))

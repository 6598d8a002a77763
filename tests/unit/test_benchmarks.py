# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""The benchmark scripts run and count requests the way benchmarks/README.md says (no timing is
asserted: figures come from `make bench`)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_run():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event(verb, resource=None, name="", namespace="", group="", subresource=None, uri="/api"):
    e = {"verb": verb, "requestURI": uri, "stage": "ResponseComplete", "user": {"username": "ocpv-admin"}}
    if resource:
        e["objectRef"] = {"apiGroup": group, "resource": resource, "namespace": namespace, "name": name}
        if subresource:
            e["objectRef"]["subresource"] = subresource
    return e


def test_requests_are_sorted_into_the_readme_categories():
    bench = load_run()
    ds = ("apps", "daemonsets", "wasp", "wasp-agent")
    events = [
        event("get", uri="/apis"),                                              # discovery
        event("get", "daemonsets", "wasp-agent", "wasp", "apps"),               # managed read
        event("get", "daemonsets", "wasp-agent", "wasp", "apps"),               # managed read again
        event("patch", "daemonsets", "wasp-agent", "wasp", "apps"),             # write
        event("list", "nodes"),                                                 # other read
        event("get", "clusterversions", "version", group="config.openshift.io"),  # other read
        event("get", "pods", "wasp-agent-x", "wasp", subresource="exec"),       # exec
    ]
    summary = bench.summarize(events, {ds})
    assert summary["total"] == 7
    assert summary["categories"] == {"discovery": 1, "reads of managed objects": 2, "writes": 1,
                                     "other reads": 2, "pod exec": 1}
    assert summary["reads_per_object"][ds] == 2
    assert summary["by_verb_resource"]["get pods/exec"] == 1
    assert summary["by_verb_resource"]["get discovery /apis"] == 1


def test_python_scaling_benchmark_runs():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "python_scaling.py"), "--repeat", "1", "--markdown"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "| plan_swap (Node objects) | 5,000 |" in proc.stdout, proc.stdout

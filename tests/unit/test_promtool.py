# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""promtool judges the alert rules: `promtool check rules` on every rule set of
roles/alerts/files/rule-sets.yml and on what the alerts role renders for every profile, and
`promtool test rules` per profile: the alert fires, with its labels and annotations, for a node
that swaps at the rates the runbook names (roles/alerts/files/runbooks/), and stays silent for an
idle node and for a node without swap.

promtool is Debian 12's (package prometheus 2.42.0, extracted by `make real-components`). The
expected labels and annotations are read from the rule set (rule labels + the series' own
labels; annotations with $labels and $value filled in), so only the firing is asserted here.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re
import subprocess

import pytest
import yaml

from offline_render import ROOT, profile_row, profiles, render
from localcluster import realtools


RULE_SETS_FILE = os.path.join(ROOT, 'roles', 'alerts', 'files', 'rule-sets.yml')
SCRAPE = 15  # seconds between samples: OpenShift's node-exporter ServiceMonitor interval
MiB = 1024 * 1024
NODE = {'instance': 'worker-0', 'job': 'node-exporter'}
SAMPLES = 40  # 10 minutes of samples


def rule_sets():
    with open(RULE_SETS_FILE) as f:
        return yaml.safe_load(f)['rule_sets']


def promtool(*args, cwd):
    proc = subprocess.run([realtools.tool('promtool')] + list(args), cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def write_rule_file(directory, groups):
    path = os.path.join(str(directory), 'rules.yml')
    with open(path, 'w') as f:
        yaml.safe_dump({'groups': groups}, f, sort_keys=False)
    return path


def rule_set_groups(rule_set):
    return [{'name': rule_set['group'], 'rules': rule_set['rules']}]


# --- check rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize('name', sorted(rule_sets()))
def test_check_rules_every_rule_set(tmp_path, name):
    """Seen to fail on a broken input: with `rate(node_vmstat_pswpout[1m]` (no closing
    parenthesis) in rule-sets.yml, promtool answered "could not parse expression"."""
    write_rule_file(tmp_path, rule_set_groups(rule_sets()[name]))
    rc, out = promtool('check', 'rules', 'rules.yml', cwd=tmp_path)
    assert rc == 0 and 'SUCCESS: 1 rules found' in out, out


def rendered_rules(profile):
    """The alert rule object the alerts role renders offline for `profile`, or None."""
    docs = [d for d in render(profile).values() if d['kind'] in ('AlertingRule', 'PrometheusRule')]
    assert len(docs) <= 1, docs
    return docs[0] if docs else None


ALERTING_PROFILES = [p for p in profiles() if profile_row(p)['alerts']['rule_set']]


@pytest.mark.parametrize('profile', profiles())
def test_check_rules_rendered_per_profile(tmp_path, profile):
    """What reaches the cluster: the rendered AlertingRule/PrometheusRule spec. Profiles whose
    rule set is "" (HCO ships the alert) render none."""
    doc = rendered_rules(profile)
    if not profile_row(profile)['alerts']['rule_set']:
        assert doc is None, doc
        return
    write_rule_file(tmp_path, doc['spec']['groups'])
    rc, out = promtool('check', 'rules', 'rules.yml', cwd=tmp_path)
    assert rc == 0 and 'SUCCESS' in out, out


def test_check_rules_can_fail(tmp_path):
    rule = dict(rule_sets()['NodeHighSwapActivity']['rules'][0], expr='rate(node_vmstat_pswpout[1m] > 200')
    write_rule_file(tmp_path, [{'name': 'broken', 'rules': [rule]}])
    rc, out = promtool('check', 'rules', 'rules.yml', cwd=tmp_path)
    assert rc != 0 and 'could not parse expression' in out, out


# --- test rules ----------------------------------------------------------------------------------

def humanize(value):
    """Prometheus' `humanize` for the values these tests produce (0 and 1 <= |v| < 10^6)."""
    if value == 0:
        return '0'
    for prefix in ('', 'k'):
        if abs(value) < 1000:
            return '%.4g%s' % (value, prefix)
        value /= 1000.0
    raise ValueError('humanize: value out of the tested range')


def expected_annotations(rule, labels, value):
    def fill(text):
        text = re.sub(r'\{\{\s*\$labels\.(\w+)\s*\}\}', lambda m: labels[m.group(1)], text)
        text = re.sub(r'\{\{\s*\$value\s*\|\s*humanize\s*\}\}', lambda m: humanize(value), text)
        if '{{' in text:
            raise AssertionError('template this test cannot fill in: %r' % text)
        return text
    return {k: fill(v) for k, v in (rule.get('annotations') or {}).items()}


def series(name, start, step):
    return {'series': '%s{instance="%s",job="%s"}' % (name, NODE['instance'], NODE['job']),
            'values': '%d%+dx%d' % (start, step, SAMPLES)}


# name -> (input series, rate the alert's $value shows at EVAL or None when silent)
EVAL = 180  # seconds: past the rules' `for: 1m`
NODE_SWAPPING = {
    # Free swap rises by 1 MiB/s (pages swapped in, swap space freed): $value 1 (MiB/s).
    'swap-in 1 MiB/s': ([series('node_memory_SwapFree_bytes', 1024 * MiB, 15 * MiB)], 1.0),
    # Free swap falls by 1 MiB/s (pages swapped out). irate() reads the fall of a gauge as a
    # counter reset: it fires, but $value is the free swap divided by the scrape interval
    # (2048 MiB - 12 samples x 15 MiB = 1868 MiB at 3 min, over 15 s), not the 1 MiB/s.
    'swap-out 1 MiB/s': ([series('node_memory_SwapFree_bytes', 2048 * MiB, -15 * MiB)],
                         (2048 - EVAL // SCRAPE * 15) / float(SCRAPE)),
    'idle node (swap, no change)': ([series('node_memory_SwapFree_bytes', 1024 * MiB, 0)], None),
    'node without swap': ([series('node_memory_SwapFree_bytes', 0, 0)], None),
}
HIGH_SWAP_ACTIVITY = {
    # The runbook: in and out at more than 200 pages/s each, for a minute.
    'in and out 300 pages/s': ([series('node_vmstat_pswpout', 0, 300 * SCRAPE),
                                series('node_vmstat_pswpin', 0, 300 * SCRAPE)], 300.0),
    'out only 300 pages/s': ([series('node_vmstat_pswpout', 0, 300 * SCRAPE),
                              series('node_vmstat_pswpin', 0, 0)], None),
    'in and out 150 pages/s': ([series('node_vmstat_pswpout', 0, 150 * SCRAPE),
                                series('node_vmstat_pswpin', 0, 150 * SCRAPE)], None),
    'idle node (swap, no traffic)': ([series('node_vmstat_pswpout', 5000, 0),
                                      series('node_vmstat_pswpin', 7000, 0)], None),
    'node without swap': ([series('node_vmstat_pswpout', 0, 0), series('node_vmstat_pswpin', 0, 0)], None),
}
SCENARIOS = {'NodeSwapping': NODE_SWAPPING, 'NodeHighSwapActivity': HIGH_SWAP_ACTIVITY}
CASES = [(p, s) for p in ALERTING_PROFILES
         for s in SCENARIOS[rule_sets()[profile_row(p)['alerts']['rule_set']]['rules'][0]['alert']]]


@pytest.mark.parametrize('profile,scenario', CASES)
def test_alert_fires_only_for_a_swapping_node(tmp_path, profile, scenario):
    """Seen to fail on broken inputs: with the threshold `> 200` raised to `> 400` in
    NodeHighSwapActivity, "in and out 300 pages/s" stayed silent (promtool: "got:[]"); with
    `> 0` turned into `< 0` in NodeSwapping, the swapping scenarios stayed silent."""
    doc = rendered_rules(profile)
    rule = doc['spec']['groups'][0]['rules'][0]
    inputs, value = SCENARIOS[rule['alert']][scenario]
    labels = dict(NODE, **(rule.get('labels') or {}))
    expected = []
    if value is not None:
        expected = [{'exp_labels': labels, 'exp_annotations': expected_annotations(rule, labels, value)}]
    write_rule_file(tmp_path, doc['spec']['groups'])
    with open(os.path.join(str(tmp_path), 'test.yml'), 'w') as f:
        yaml.safe_dump({'rule_files': ['rules.yml'], 'evaluation_interval': '%ds' % SCRAPE,
                        'tests': [{'interval': '%ds' % SCRAPE, 'input_series': inputs,
                                   'alert_rule_test': [{'eval_time': '%ds' % EVAL, 'alertname': rule['alert'],
                                                        'exp_alerts': expected}]}]}, f, sort_keys=False)
    rc, out = promtool('test', 'rules', 'test.yml', cwd=tmp_path)
    assert rc == 0 and 'SUCCESS' in out, out


def test_every_alerting_profile_has_scenarios():
    assert ALERTING_PROFILES, 'no profile renders an alert rule'
    assert {rule_sets()[profile_row(p)['alerts']['rule_set']]['rules'][0]['alert'] for p in ALERTING_PROFILES} <= set(SCENARIOS)

# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Benchmarks of playbooks/site.yml against the local emulated OpenShift cluster.

Measured on the real control plane of cluster ``bench`` (brought up, or reused):

- API requests per converge from a freshly reset cluster (cold kubernetes.core discovery cache)
  and per no-op rerun, read from the apiserver audit log (user ocpv-admin, between markers), by
  verb and resource; against the floor (one read plus at most one write per managed object, the
  objects counted from what the converge wrote) and against ``kubectl apply --server-side`` of the
  same objects (dumped from the cluster after the converge, applied to a reset cluster);
- node reboot cycles per enablement and per removal (state=absent) from the emulator's
  counters.json, against the documented procedure (KubeletConfig, wait, MachineConfig, wait);
- wall time of the converge without the pool rollout (the ocpv.density.mcp_wait task, from the
  ansible.posix.profile_tasks callback) and of the no-op rerun, as ratios to kubectl in the same
  run; the median of ``--runs`` runs, and the slowest tasks;
- requests and time on a worker pool of 4 and of ``--scale-workers`` emulated workers;
- the Python parts (benchmarks/python_scaling.py).

Run from the checkout:  .venv/bin/python benchmarks/run.py   (``make bench``)
Writes the results section of benchmarks/README.md (``--no-readme`` to skip). Not part of the
test pass/fail.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import collections
import contextlib
import datetime
import json
import os
import pickle
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script: the checkout root, for the localcluster package
    sys.path.insert(0, ROOT)

from localcluster import cluster as localcluster  # noqa: E402 pylint: disable=wrong-import-position
from localcluster import topology as topo  # noqa: E402 pylint: disable=wrong-import-position
from localcluster.kubeapi import Kube, path as api_path  # noqa: E402 pylint: disable=wrong-import-position

USER = 'ocpv-admin'
WRITE_VERBS = ('create', 'update', 'patch', 'delete', 'deletecollection')
MCFG = 'machineconfiguration.openshift.io/v1'
README = os.path.join(ROOT, 'benchmarks', 'README.md')
BEGIN, END = '<!-- bench:results:begin -->', '<!-- bench:results:end -->'
# Fields a controller sets on an object the collection only patches (not the collection's content).
CONTROLLER_SPEC_FIELDS = {'machineconfigpools': ('configuration',)}
# Task keywords: anything else at the top level of a task is its module (or action).
TASK_KEYWORDS = {
    'name', 'when', 'register', 'loop', 'loop_control', 'vars', 'until', 'retries', 'delay', 'changed_when',
    'failed_when', 'tags', 'notify', 'become', 'ignore_errors', 'no_log', 'environment', 'check_mode', 'diff',
    'delegate_to', 'run_once', 'args', 'block', 'rescue', 'always', 'with_items', 'listen', 'timeout', 'throttle',
    'any_errors_fatal', 'module_defaults', 'collections', 'ignore_unreachable', 'debugger',
}


def log(msg):
    print('[bench %s] %s' % (time.strftime('%H:%M:%S'), msg), file=sys.stderr, flush=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ----------------------------------------------------------------------------------------------
# Audit log
# ----------------------------------------------------------------------------------------------

class Audit:
    """The apiserver audit log: byte offsets at line ends are stable markers (no rotation)."""

    def __init__(self, log_path):
        self.path = log_path

    def marker(self):
        size = os.path.getsize(self.path)
        start = max(0, size - (1 << 16))
        with open(self.path, 'rb') as f:
            f.seek(start)
            tail = f.read(size - start)
        return start + tail.rfind(b'\n') + 1

    def events(self, start, end, user=USER):
        """Events of `user` between two markers, one per request (stage ResponseComplete: a
        long-running request such as exec is also logged at ResponseStarted)."""
        with open(self.path, 'rb') as f:
            f.seek(start)
            data = f.read(end - start)
        needle = ('"username":"%s"' % user).encode()
        events = []
        for line in data.splitlines():
            if needle not in line:
                continue
            event = json.loads(line)
            if event.get('stage') == 'ResponseComplete' and event['user'].get('username') == user:
                events.append(event)
        return events


def object_key(event):
    ref = event.get('objectRef') or {}
    return (ref.get('apiGroup', ''), ref.get('resource', ''), ref.get('namespace', ''), ref.get('name', ''))


def verb_resource(event):
    ref = event.get('objectRef')
    if not ref:
        return ('get', 'discovery %s' % event['requestURI'].split('?')[0])
    resource = ref.get('resource', '?')
    if ref.get('subresource'):
        resource += '/' + ref['subresource']
    return (event['verb'], resource)


def is_run_lock(event):
    ref = event.get('objectRef') or {}
    return ref.get('resource') == 'leases' and ref.get('name') == RUN_LOCK


def category(event, managed):
    ref = event.get('objectRef')
    if not ref:
        return 'discovery'
    if is_run_lock(event):
        return 'run lock'
    if event['verb'] in WRITE_VERBS:
        return 'writes'
    if ref.get('subresource') == 'exec':
        return 'pod exec'
    if event['verb'] == 'get' and object_key(event) in managed:
        return 'reads of managed objects'
    return 'other reads'


CATEGORIES = ('discovery', 'reads of managed objects', 'writes', 'other reads', 'pod exec', 'run lock')
RUN_LOCK = 'ocpv-density-run'  # site.yml's Lease (ocpv.density.run_lock): bookkeeping, not a managed object


def summarize(events, managed):
    cats = collections.Counter(category(e, managed) for e in events)
    per_object = collections.Counter(object_key(e) for e in events
                                     if e['verb'] == 'get' and e.get('objectRef') and object_key(e) in managed)
    return {
        'total': len(events),
        'categories': dict(cats),
        'by_verb_resource': collections.Counter(' '.join(verb_resource(e)) for e in events),
        'reads_per_object': per_object,
    }


# ----------------------------------------------------------------------------------------------
# The bench: cluster, ansible, kubectl
# ----------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix='ocpv-bench-')
        self.info = None
        self.started = False
        self.kube = None
        self.audit = None
        self.task_modules = task_module_map()
        self.kubectl_bin = os.path.join(localcluster.bin_dir(), 'kubectl')
        self.by_kind = {}

    # --- cluster -------------------------------------------------------------------------------
    def up(self):
        log('cluster %s: up (or reuse)' % self.args.name)
        self.info = localcluster.up(self.args.name, quiet=True)
        self.started = bool(getattr(self.info, 'started', False))
        self.kube = Kube(os.path.join(str(self.info.run_dir), 'harness.kubeconfig'))
        self.audit = Audit(str(self.info.audit_log))

    def reset(self):
        t0 = time.monotonic()
        self.info = localcluster.reset(self.args.name)
        log('reset in %.1f s' % (time.monotonic() - t0))

    def counters(self):
        with open(os.path.join(str(self.info.run_dir), 'emulator', 'counters.json')) as f:
            return json.load(f)

    def pool(self, name='worker'):
        return self.kube.get(api_path(MCFG, 'machineconfigpools', name))

    def wait_pool(self, previous, name='worker', timeout=600):
        """Until the pool targets a config other than `previous` and has rolled out to it."""
        def settled():
            pool = self.pool(name)
            status = pool.get('status') or {}
            conditions = dict((c['type'], c['status']) for c in status.get('conditions') or [])
            target = pool['spec']['configuration']['name']
            return (target != previous and (status.get('configuration') or {}).get('name') == target
                    and conditions.get('Updated') == 'True'
                    and status.get('updatedMachineCount') == status.get('machineCount'))
        self.kube.wait(settled, timeout, interval=0.5, what='pool %s to roll out' % name)

    def env(self, tmpdir):
        kubeconfig = str(self.info.kubeconfig)
        return dict(os.environ, KUBECONFIG=kubeconfig, K8S_AUTH_KUBECONFIG=kubeconfig,
                    NO_PROXY='127.0.0.1,localhost', no_proxy='127.0.0.1,localhost',
                    ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                    ANSIBLE_CALLBACKS_ENABLED='ansible.posix.profile_tasks', PROFILE_TASKS_TASK_OUTPUT_LIMIT='all',
                    TMPDIR=tmpdir)  # kubernetes.core keeps its discovery cache in the temp dir

    @contextlib.contextmanager
    def window(self, result):
        """Audit markers and wall time around one measured command."""
        start = self.audit.marker()
        t0 = time.monotonic()
        yield
        result['seconds'] = time.monotonic() - t0
        time.sleep(1.0)  # the apiserver writes an event once the response is complete
        result['events'] = self.audit.events(start, self.audit.marker())

    # --- ansible -------------------------------------------------------------------------------
    def playbook(self, label, extra_vars, tmpdir):
        ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
        logfile = os.path.join(self.work, '%s.log' % label)
        cmd = [ansible_playbook, os.path.join(ROOT, 'playbooks', 'site.yml'), '-e', json.dumps(extra_vars)]
        result = {'label': label, 'log': logfile}
        log('%s: ansible-playbook site.yml -e %s' % (label, json.dumps(extra_vars)))
        with self.window(result):
            with open(logfile, 'w') as out:
                rc = subprocess.call(cmd, cwd=ROOT, env=self.env(tmpdir), stdout=out, stderr=subprocess.STDOUT)
        with open(logfile) as f:
            text = f.read()
        result.update(parse_ansible_output(text))
        if rc != 0:
            raise SystemExit('%s failed (rc %d); see %s' % (label, rc, logfile))
        result['wait_seconds'] = sum(s for name, s in result['tasks'] if self.module_of(name) == 'ocpv.density.mcp_wait')
        log('%s: %.1f s (pool rollout wait %.1f s), changed=%s, %d requests'
            % (label, result['seconds'], result['wait_seconds'], result['changed'], len(result['events'])))
        return result

    def module_of(self, profile_name):
        return self.task_modules.get(profile_name.split(' : ', 1)[-1].strip(), '?')

    def naive_playbook(self, label, manifest, tmpdir):
        """benchmarks/naive_k8s.yml: the same objects with kubernetes.core.k8s, one call each."""
        ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
        logfile = os.path.join(self.work, '%s.log' % label)
        cmd = [ansible_playbook, os.path.join(ROOT, 'benchmarks', 'naive_k8s.yml'), '-e', 'naive_manifest=' + manifest]
        result = {'label': label, 'log': logfile}
        with self.window(result):
            with open(logfile, 'w') as out:
                rc = subprocess.call(cmd, cwd=ROOT, env=self.env(tmpdir), stdout=out, stderr=subprocess.STDOUT)
        with open(logfile) as f:
            result.update(parse_ansible_output(f.read()))
        if rc != 0:
            raise SystemExit('%s failed (rc %d); see %s' % (label, rc, logfile))
        log('%s: %.1f s, changed=%s, %d requests' % (label, result['seconds'], result['changed'], len(result['events'])))
        return result

    # --- kubectl -------------------------------------------------------------------------------
    def kubectl(self, args, cache_dir, check=True):
        cmd = [self.kubectl_bin, '--kubeconfig', str(self.info.kubeconfig), '--cache-dir', cache_dir] + args
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        if check and proc.returncode != 0:
            raise SystemExit('kubectl %s failed: %s' % (' '.join(args), proc.stdout))
        return proc.stdout

    def kubectl_apply(self, label, manifest, cache_dir):
        result = {'label': label}
        with self.window(result):
            self.kubectl(['apply', '--server-side', '--force-conflicts', '-f', manifest], cache_dir)
        log('%s: %.2f s, %d requests' % (label, result['seconds'], len(result['events'])))
        return result

    def kubectl_wait_pool(self, previous, cache_dir, timeout=300):
        """The documented procedure's wait, with kubectl: until the pool targets a new config and
        reports it Updated on every machine."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pool = json.loads(self.kubectl(['get', 'machineconfigpool', 'worker', '-o', 'json'], cache_dir))
            status = pool.get('status') or {}
            conditions = dict((c['type'], c['status']) for c in status.get('conditions') or [])
            target = pool['spec']['configuration']['name']
            if (target != previous and (status.get('configuration') or {}).get('name') == target
                    and conditions.get('Updated') == 'True' and status.get('updatedMachineCount') == status.get('machineCount')):
                return target
            time.sleep(1)
        raise SystemExit('pool worker did not roll out within %d s' % timeout)

    # --- objects ---------------------------------------------------------------------------------
    def read_object(self, key, version):
        group, resource, namespace, name = key
        return self.kube.get(api_path(group + '/' + version if group else version, resource, name, namespace or None),
                             default=None)

    def managed_objects(self, events):
        """The objects the run wrote, in the order of their first write: {key: (version, verbs)}."""
        objects = collections.OrderedDict()
        for e in events:
            if (e['verb'] in WRITE_VERBS and e.get('objectRef') and e['responseStatus'].get('code', 0) < 300
                    and not is_run_lock(e)):
                key = object_key(e)
                entry = objects.setdefault(key, [e['objectRef'].get('apiVersion'), set()])
                entry[1].add(e['verb'])
        return objects

    def dump(self, managed):
        """After the converge: what the collection created, as it is on the cluster."""
        return dict((key, self.read_object(key, version)) for key, (version, _verbs) in managed.items())

    def kubectl_manifests(self, managed, after, directory):
        """The same content for kubectl: created objects stripped of server-set fields; for
        objects that existed before (patched), only the spec fields the converge changed. Call on
        a reset cluster (the "before" of the patched objects)."""
        docs, skipped = [], []
        for key, (version, verbs) in managed.items():
            obj = after[key]
            if 'create' in verbs:
                docs.append(strip(obj))
                continue
            before = self.read_object(key, version) or {}
            spec = merge_diff((before.get('spec') or {}), (obj.get('spec') or {}))
            for field in CONTROLLER_SPEC_FIELDS.get(key[1], ()):
                spec.pop(field, None)
            if not spec:
                skipped.append('%s/%s' % (key[1], key[3]))
                continue
            meta = {'name': obj['metadata']['name']}
            if obj['metadata'].get('namespace'):
                meta['namespace'] = obj['metadata']['namespace']
            docs.append({'apiVersion': obj['apiVersion'], 'kind': obj['kind'], 'metadata': meta, 'spec': spec})
        manifest = os.path.join(directory, 'objects.yaml')
        with open(manifest, 'w') as f:
            f.write('\n---\n'.join(json.dumps(d, indent=1, sort_keys=True) for d in docs) + '\n')
        by_kind = dict((d['kind'], d) for d in docs)
        return manifest, docs, by_kind, skipped


def strip(obj):
    obj = json.loads(json.dumps(obj))
    obj.pop('status', None)
    meta = obj['metadata']
    for field in ('managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'finalizers',
                  'ownerReferences', 'selfLink'):
        meta.pop(field, None)
    annotations = dict((k, v) for k, v in (meta.get('annotations') or {}).items()
                       if k != 'kubectl.kubernetes.io/last-applied-configuration'
                       and not k.startswith('machineconfiguration.openshift.io/')
                       and k != 'deprecated.daemonset.template.generation')
    if annotations:
        meta['annotations'] = annotations
    else:
        meta.pop('annotations', None)
    return obj


def merge_diff(before, after):
    """The fields of `after` that differ from `before` (added or changed), as a nested dict."""
    diff = {}
    for key, value in after.items():
        old = before.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            sub = merge_diff(old, value)
            if sub:
                diff[key] = sub
        elif value != old:
            diff[key] = value
    return diff


RECAP_LINE = re.compile(r'^(?P<name>.+?) -+ (?P<secs>[0-9]+\.[0-9]+)s\s*$')


def parse_ansible_output(text):
    tasks, changed, failed = [], None, None
    m = re.search(r'changed=([0-9]+)\s+unreachable=[0-9]+\s+failed=([0-9]+)', text)
    if m:
        changed, failed = int(m.group(1)), int(m.group(2))
    recap = text.split('TASKS RECAP', 1)
    if len(recap) == 2:
        for line in recap[1].splitlines():
            m = RECAP_LINE.match(line)
            if m:
                tasks.append((m.group('name').strip(), float(m.group('secs'))))
    return {'changed': changed, 'failed': failed, 'tasks': tasks}


def task_module_map():
    """Task name -> module, from roles/*/tasks/*.yml, playbooks/site.yml and playbooks/tasks/*.yml."""
    modules = {}

    def walk(tasks):
        for task in tasks or []:
            if not isinstance(task, dict):
                continue
            for section in ('block', 'rescue', 'always'):
                walk(task.get(section))
            if 'block' in task:
                continue
            action = [k for k in task if k not in TASK_KEYWORDS]
            if task.get('name') and action:
                modules[task['name']] = action[0]

    roles = os.path.join(ROOT, 'roles')
    for role in sorted(os.listdir(roles)):
        tasks_dir = os.path.join(roles, role, 'tasks')
        for name in sorted(os.listdir(tasks_dir)) if os.path.isdir(tasks_dir) else ():
            with open(os.path.join(tasks_dir, name)) as f:
                walk(yaml.safe_load(f))
    with open(os.path.join(ROOT, 'playbooks', 'site.yml')) as f:
        for play in yaml.safe_load(f):
            walk(play.get('tasks'))
    tasks_dir = os.path.join(ROOT, 'playbooks', 'tasks')
    for name in sorted(os.listdir(tasks_dir)):
        with open(os.path.join(tasks_dir, name)) as f:
            walk(yaml.safe_load(f))
    return modules


# ----------------------------------------------------------------------------------------------
# Phases
# ----------------------------------------------------------------------------------------------

def phase_iterations(bench, runs, extra):
    iterations = []
    for i in range(runs):
        it = {}
        bench.reset()
        cold = tempfile.mkdtemp(dir=bench.work)  # a fresh temp dir: kubernetes.core discovers anew
        it['converge'] = bench.playbook('converge-%d' % i, extra, cold)
        it['converge']['reboots'] = bench.counters()
        managed = bench.managed_objects(it['converge']['events'])
        it['managed'] = managed
        it['noop'] = bench.playbook('noop-%d' % i, extra, cold)
        after = bench.dump(managed)
        if i == runs - 1:
            before = bench.counters()
            it['absent'] = bench.playbook('absent', dict(extra, state='absent'), cold)
            it['absent']['reboots'] = counters_delta(before, bench.counters())
        bench.reset()
        kdir = tempfile.mkdtemp(dir=bench.work)
        manifest, docs, by_kind, skipped = bench.kubectl_manifests(managed, after, kdir)
        it['kubectl_docs'], it['kubectl_skipped'] = [(d['kind'], d['metadata']['name']) for d in docs], skipped
        previous = bench.pool()['spec']['configuration']['name']
        it['kubectl'] = bench.kubectl_apply('kubectl-apply-%d' % i, manifest, os.path.join(kdir, 'cache'))
        it['kubectl_noop'] = bench.kubectl_apply('kubectl-reapply-%d' % i, manifest, os.path.join(kdir, 'cache'))
        if i == 0:
            # What applying everything at once (no paused pool) does to the nodes.
            bench.wait_pool(previous)
            time.sleep(3)  # a second render, if any, would show up within a few emulator cycles
            bench.wait_pool(previous)
            it['kubectl']['reboots'] = bench.counters()
            bench.by_kind = by_kind
        bench.reset()
        naive_tmp = tempfile.mkdtemp(dir=bench.work)
        it['naive'] = bench.naive_playbook('naive-%d' % i, manifest, naive_tmp)
        it['naive_noop'] = bench.naive_playbook('naive-noop-%d' % i, manifest, naive_tmp)
        iterations.append(it)
    return iterations


def counters_delta(before, after):
    out = {}
    for section in ('reboots', 'rollouts'):
        out[section] = dict((k, v - before.get(section, {}).get(k, 0)) for k, v in after.get(section, {}).items()
                            if v - before.get(section, {}).get(k, 0))
    out['max_updating'] = after.get('max_updating', {})
    return out


def phase_documented(bench, by_kind):
    """The documented procedure: KubeletConfig, wait for the pool, MachineConfig, wait (kubectl)."""
    bench.reset()
    kdir = tempfile.mkdtemp(dir=bench.work)
    cache = os.path.join(kdir, 'cache')
    previous = bench.pool()['spec']['configuration']['name']
    t0 = time.monotonic()
    for kind in ('KubeletConfig', 'MachineConfig'):
        manifest = os.path.join(kdir, kind + '.json')
        with open(manifest, 'w') as f:
            json.dump(by_kind[kind], f)
        log('documented procedure: kubectl apply %s, wait for the pool' % kind)
        bench.kubectl(['apply', '--server-side', '--force-conflicts', '-f', manifest], cache)
        previous = bench.kubectl_wait_pool(previous, cache)
    return {'reboots': bench.counters(), 'seconds': time.monotonic() - t0}


def phase_scale(bench, workers, extra, noop=False):
    """The converge on a pool of `workers` nodes, pool maxUnavailable 100%; verify's per-node exec
    left out (no pod matches its selector), so the run compares with the 4-worker converges
    minus their execs."""
    scale_extra = dict(extra, verify_pod_selector='ocpv.density/bench=no-such-pod', verify_fail=False)
    bench.reset()
    add_workers(bench, workers)
    bench.kube.merge_patch(api_path(MCFG, 'machineconfigpools', 'worker'), {'spec': {'maxUnavailable': '100%'}})
    cold = tempfile.mkdtemp(dir=bench.work)
    run = {'size': workers, 'converge': bench.playbook('scale-%d-converge' % workers, scale_extra, cold)}
    run['converge']['reboots'] = bench.counters()
    run['managed'] = bench.managed_objects(run['converge']['events'])
    if noop:
        run['noop'] = bench.playbook('scale-%d-noop' % workers, scale_extra, cold)
    return run


def add_workers(bench, size):
    rows = [n for n in topo.nodes('ha') if 'worker' in n.roles]
    existing = set(n['metadata']['name'] for n in bench.kube.list(api_path('v1', 'nodes')))
    t0 = time.monotonic()
    for i in range(size):
        name = 'worker-%d' % i
        if name in existing:
            continue
        row = rows[i % len(rows)]
        node = topo.NodeSpec(name, ('worker',), row.cpu, row.memory, row.ephemeral_storage, row.pods)
        bench.kube.create(api_path('v1', 'nodes'), node.node_object())

    def adopted():
        status = bench.pool().get('status') or {}
        return status.get('machineCount') == size and status.get('updatedMachineCount') == size

    bench.kube.wait(adopted, 600, interval=2, what='%d workers in pool worker' % size)
    log('%d workers registered and adopted by pool worker in %.1f s' % (size, time.monotonic() - t0))


def remove_workers(bench):
    for node in bench.kube.list(api_path('v1', 'nodes')):
        name = node['metadata']['name']
        m = re.match(r'^worker-([0-9]+)$', name)
        if m and int(m.group(1)) >= 4:
            bench.kube.delete(api_path('v1', 'nodes', name))


def phase_python():
    log('python_scaling.py --markdown')
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'benchmarks', 'python_scaling.py'), '--markdown', '--repeat', '3'],
                          stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return proc.stdout


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------

def fmt(value, digits=1):
    if value is None:
        return '-'
    if isinstance(value, float):
        return '%.*f' % (digits, value)
    return str(value)


def reboots_text(counters, nodes=None):
    reboots = counters.get('reboots', {})
    if nodes:
        reboots = dict((n, reboots.get(n, 0)) for n in nodes)
    values = sorted(set(reboots.values()))
    if not reboots:
        return '0'
    if len(values) == 1:
        return '%d on each of %d nodes' % (values[0], len(reboots))
    return ', '.join('%s: %d' % kv for kv in sorted(reboots.items()))


def request_rows(iterations):
    managed_count = len(iterations[0]['managed'])
    rows = []
    specs = [('converge (reset cluster, cold discovery cache)', 'converge', 2, 'converge'),
             ('no-op rerun', 'noop', 1, 'noop'),
             ('kubectl apply --server-side (reset cluster, cold cache)', 'kubectl', None, None),
             ('kubectl apply --server-side again (no-op)', 'kubectl_noop', None, None)]
    for title, key, per_object, _unused in specs:
        sums = [summarize(it[key]['events'], it['managed']) for it in iterations]
        total = median([s['total'] for s in sums])
        cats = dict((c, median([s['categories'].get(c, 0) for s in sums])) for c in CATEGORIES)
        target = None
        if per_object:
            target = per_object * managed_count + (cats['discovery'] if key == 'converge' else 1)
        rows.append((title, total, cats, target))
    absent = [it for it in iterations if 'absent' in it]
    if absent:
        s = summarize(absent[0]['absent']['events'], absent[0]['managed'])
        rows.append(('state=absent (after the no-op rerun)', s['total'],
                     dict((c, s['categories'].get(c, 0)) for c in CATEGORIES), None))
    return managed_count, rows


def verb_table(iterations):
    keys = ('converge', 'noop', 'kubectl', 'kubectl_noop')
    counts = dict((k, collections.defaultdict(list)) for k in keys)
    for it in iterations:
        for k in keys:
            c = summarize(it[k]['events'], it['managed'])['by_verb_resource']
            for vr in set(c) | set(counts[k]):
                counts[k][vr].append(c.get(vr, 0))
    names = sorted(set().union(*[set(counts[k]) for k in keys]),
                   key=lambda vr: (vr.startswith('get discovery'), vr.split(' ', 1)[1], vr))
    lines = ['| verb resource | converge | no-op | kubectl apply | kubectl no-op |', '| --- | ---: | ---: | ---: | ---: |']
    for vr in names:
        cells = [fmt(median(counts[k][vr] + [0] * (len(iterations) - len(counts[k][vr])))) for k in keys]
        lines.append('| %s | %s |' % (vr, ' | '.join(cells)))
    return lines


def repeated_reads(iterations):
    it = iterations[-1]
    out = []
    for label, key in (('converge', 'converge'), ('no-op', 'noop')):
        per = summarize(it[key]['events'], it['managed'])['reads_per_object']
        many = ['%s %s x%d' % (k[1], k[3], n) for k, n in per.most_common() if n > 1]
        out.append('%s: %s' % (label, ', '.join(many) if many else 'none'))
    return out


def task_profile(bench, iterations, key, top=10):
    per_task = collections.defaultdict(list)
    for it in iterations:
        seen = collections.Counter()
        for name, secs in it[key]['tasks']:
            seen[name] += 1
            per_task[(name, seen[name])].append(secs)
    medians = [(name, n, median(v)) for (name, n), v in per_task.items()]
    medians.sort(key=lambda t: -t[2])
    by_module = collections.Counter()
    invocations = collections.Counter()
    for name, _n, secs in medians:
        by_module[bench.module_of(name)] += secs
        invocations[bench.module_of(name)] += 1
    return medians[:top], by_module, invocations, sum(m[2] for m in medians)


def report(bench, iterations, documented, scale, python_md, args):
    lines = []
    w = lines.append
    it0 = iterations[0]
    managed_count, rows = request_rows(iterations)
    c = bench.info
    w('Run %s by `make bench` (= `.venv/bin/python benchmarks/run.py%s`), %s, Python %s, %d CPUs, load average '
      'at the start %s; cluster `%s` (release %s, topology %s: 3 masters + 4 workers), kube-apiserver %s; '
      '%d runs, medians shown.'
      % (datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC'), (' ' + ' '.join(args.argv)) if args.argv else '',
         platform.machine() + ' ' + platform.system(), platform.python_version(), os.cpu_count(),
         args.load, c.name, c.release, c.topology, topo.KUBELET_VERSION, len(iterations)))
    w('')
    w('### API requests (audit log, user `%s`)' % USER)
    w('')
    w('Managed objects (what the converge wrote): %d: %s.'
      % (managed_count, ', '.join('%s %s' % (k[1], ('%s/%s' % (k[2], k[3])) if k[2] else k[3]) for k in it0['managed'])))
    w('kubectl applied %d of them (%s)%s.'
      % (len(it0['kubectl_docs']), ', '.join('%s %s' % d for d in it0['kubectl_docs']),
         ('; not %s: the converge only paused and unpaused it, no net content' % ', '.join(it0['kubectl_skipped']))
         if it0['kubectl_skipped'] else ''))
    w('')
    w('| run | requests | discovery (kubectl: + OpenAPI) | reads of managed objects | writes | other reads | pod exec | run lock | floor | target | met |')
    w('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    for title, total, cats, target in rows:
        floor = None
        if title.startswith('converge'):
            floor = 2 * managed_count
        elif title.startswith('no-op'):
            floor = managed_count
        w('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |'
          % (title, fmt(total), fmt(cats['discovery']), fmt(cats['reads of managed objects']), fmt(cats['writes']),
             fmt(cats['other reads']), fmt(cats['pod exec']), fmt(cats['run lock']), fmt(floor),
             ('<= %d' % target) if target else '-', ('yes' if total <= target else 'no') if target else '-'))
    w('')
    w('Floor: one read + one write per managed object (converge), one read per managed object (no-op). Targets: '
      'converge <= 2 per object + discovery, no-op <= 1 per object + one discovery. "Other reads": cluster facts '
      '(preflight), waits (DaemonSet, pool, KubeVirt) and verify; "pod exec": verify reads each node\'s '
      '/proc/meminfo in its wasp-agent pod; "run lock": the Lease site.yml takes and releases (read, create, '
      'delete), counted in the total but not in the floor. Reads of the same object more than once (last run): '
      + '; '.join(repeated_reads(iterations)) + '.')
    w('')
    w('By verb and resource (medians):')
    w('')
    lines.extend(verb_table(iterations))
    w('')
    w('### Node reboot cycles (emulator counters.json)')
    w('')
    w('| procedure | reboots per node | pool rollouts | target |')
    w('| --- | --- | ---: | --- |')
    workers = [n for n in c.nodes if n.startswith('worker-')]
    reb = it0['converge']['reboots']
    w('| ocpv.density site.yml (enable) | %s | %s | 1 per node: %s |'
      % (reboots_text(reb, workers), fmt(reb.get('rollouts', {}).get('worker')),
         'met' if all(reb.get('reboots', {}).get(n) == 1 for n in workers) else 'missed'))
    absent = [it['absent'] for it in iterations if 'absent' in it]
    if absent:
        a = absent[0]['reboots']
        w('| ocpv.density site.yml -e state=absent (remove) | %s | %s | 1 per node: %s |'
          % (reboots_text(a, workers), fmt(a.get('rollouts', {}).get('worker', 0)),
             'met' if all(a.get('reboots', {}).get(n) == 1 for n in workers) else 'missed'))
    if documented:
        d = documented['reboots']
        w('| documented procedure: KubeletConfig, wait, MachineConfig, wait (kubectl) | %s | %s | (2 expected) |'
          % (reboots_text(d, workers), fmt(d.get('rollouts', {}).get('worker'))))
    k = it0['kubectl'].get('reboots')
    if k:
        w('| kubectl apply of the same objects at once (no paused pool) | %s | %s | - |'
          % (reboots_text(k, workers), fmt(k.get('rollouts', {}).get('worker'))))
    w('')
    w('### Wall time (seconds; ratio = ocpv.density / kubectl in the same run)')
    w('')
    conv = [it['converge']['seconds'] - it['converge']['wait_seconds'] for it in iterations]
    noop = [it['noop']['seconds'] for it in iterations]
    kap = [it['kubectl']['seconds'] for it in iterations]
    knoop = [it['kubectl_noop']['seconds'] for it in iterations]
    r_conv = [a / b for a, b in zip(conv, kap)]
    r_noop = [a / b for a, b in zip(noop, knoop)]
    w('| run | ocpv.density | kubectl apply --server-side | ratio (median of runs) | target | met |')
    w('| --- | ---: | ---: | ---: | --- | --- |')
    w('| converge without the pool rollout (total %s, mcp_wait %s) | %s | %s | %sx | - | - |'
      % (fmt(median([it['converge']['seconds'] for it in iterations])),
         fmt(median([it['converge']['wait_seconds'] for it in iterations])), fmt(median(conv)), fmt(median(kap), 2),
         fmt(median(r_conv), 0)))
    w('| no-op rerun | %s | %s | %sx | <= 3x | %s |'
      % (fmt(median(noop)), fmt(median(knoop), 2), fmt(median(r_noop), 0), 'yes' if median(r_noop) <= 3 else 'no'))
    if absent:
        w('| state=absent (incl. its pool rollout wait %s) | %s | - | - | - | - |'
          % (fmt(absent[0]['wait_seconds']), fmt(absent[0]['seconds'])))
    w('')
    single = [s for it in iterations for n, s in it['noop']['tasks'] if bench.module_of(n) == 'kubernetes.core.k8s_info'
              and n in SINGLE_READS]
    if all('naive' in it for it in iterations):
        lines.extend(naive_rows(iterations, conv, noop))
    w('changed= of the no-op reruns: %s. One kubernetes.core.k8s_info task (one module process, one GET) takes '
      'a median %s s in the no-op reruns; kubectl applies all %d objects in %s s.'
      % (', '.join(str(it['noop']['changed']) for it in iterations), fmt(median(single), 2),
         len(it0['kubectl_docs']), fmt(median(kap), 2)))
    w('')
    w('Per run (converge w/o rollout / no-op / kubectl / kubectl no-op): '
      + '; '.join('%s / %s / %s / %s' % (fmt(a), fmt(b), fmt(x, 2), fmt(y, 2)) for a, b, x, y in zip(conv, noop, kap, knoop)) + '.')
    w('')
    for key, title in (('converge', 'converge'), ('noop', 'no-op rerun')):
        top, by_module, invocations, task_total = task_profile(bench, iterations, key)
        wall = median([it[key]['seconds'] for it in iterations])
        w('Slowest tasks, %s (profile_tasks, medians; sum of all tasks %s s of %s s wall, the rest is '
          'ansible-playbook start-up and role includes):' % (title, fmt(task_total), fmt(wall)))
        w('')
        w('| task | module | seconds |')
        w('| --- | --- | ---: |')
        for name, n, secs in top:
            w('| %s%s | %s | %s |' % (name, (' (#%d)' % n) if n > 1 else '', bench.module_of(name), fmt(secs, 2)))
        w('')
        top_modules = ['%s %s s in %d tasks' % (m, fmt(secs), invocations[m]) for m, secs in by_module.most_common(8)]
        w('By module (%s): ' % title + ', '.join(top_modules) + '.')
        w('')
    if scale:
        lines.extend(scale_report(bench, iterations, scale))
    if python_md:
        w('### Python parts (benchmarks/python_scaling.py, this run)')
        w('')
        lines.extend(python_md.strip().splitlines())
        w('')
    return '\n'.join(lines) + '\n'


def naive_rows(iterations, conv, noop):
    """Issue 16's targets: site.yml against benchmarks/naive_k8s.yml in the same run."""
    naive = [it['naive']['seconds'] for it in iterations]
    naive_noop = [it['naive_noop']['seconds'] for it in iterations]
    r_conv = median([a / b for a, b in zip(conv, naive)])
    r_noop = median([a / b for a, b in zip(noop, naive_noop)])
    return ['', '| run | ocpv.density | naive kubernetes.core.k8s playbook | ratio (median of runs) | target | met |',
            '| --- | ---: | ---: | ---: | --- | --- |',
            '| converge without the pool rollout | %s | %s | %sx | <= 1.5x | %s |'
            % (fmt(median(conv)), fmt(median(naive)), fmt(r_conv), 'yes' if r_conv <= 1.5 else 'no'),
            '| no-op rerun | %s | %s (changed=%s) | %sx | <= 1.5x | %s |'
            % (fmt(median(noop)), fmt(median(naive_noop)), ', '.join(str(it['naive_noop']['changed']) for it in iterations),
               fmt(r_noop), 'yes' if r_noop <= 1.5 else 'no'),
            '', 'The naive playbook (benchmarks/naive_k8s.yml) applies the objects kubectl applies, one '
            'kubernetes.core.k8s call each, and neither decides nor waits: what a user would write instead.', '']


SINGLE_READS = (  # k8s_info tasks that read one object, no loop, no retries
    'ocpv.density.hco : hco | Read the HyperConverged CR',
    'ocpv.density.namespace : namespace | Read the SCC ClusterRole',
)
EXEC_TASK = 'ocpv.density.verify : verify | Read swap on every node (in its wasp-agent pod)'
EXEC_VR = 'get pods/exec'


def scale_report(bench, iterations, scale):
    size = scale['size']
    workers = len([n for n in bench.info.nodes if n.startswith('worker-')])
    lines = ['### Scale: %d vs %d workers' % (workers, size), '']
    w = lines.append
    w('Pool `worker` patched to `maxUnavailable: 100%%` for the %d-worker run (so the emulated rollout does '
      'not take %d x the reboot time: excluded anyway, as the mcp_wait task); the extra workers are Node objects '
      'created through the API, kwok keeps them Ready. verify\'s per-node exec is left out of that run '
      '(`-e verify_pod_selector=<matches nothing> -e verify_fail=false`): the %d-worker column is the converges '
      'above without their execs (`%s` requests and the exec task).' % (size, size, workers, EXEC_VR))
    w('')
    small = collections.defaultdict(list)
    for it in iterations:
        c = summarize(it['converge']['events'], it['managed'])['by_verb_resource']
        for vr in set(c) | set(small):
            small[vr].append(c.get(vr, 0))
    small = dict((vr, median(v + [0] * (len(iterations) - len(v)))) for vr, v in small.items() if vr != EXEC_VR)
    big = summarize(scale['converge']['events'], scale['managed'])['by_verb_resource']
    conv_small = median([it['converge']['seconds'] - it['converge']['wait_seconds'] - sum(
        s for n, s in it['converge']['tasks'] if n == EXEC_TASK) for it in iterations])
    cv = scale['converge']
    exec_secs = median([sum(s for n, s in it['converge']['tasks'] if n == EXEC_TASK) for it in iterations])
    w('| workers | converge requests | converge s (w/o rollout, w/o exec) | rollout wait s | reboots | max nodes updating at once |')
    w('| ---: | ---: | ---: | ---: | --- | ---: |')
    w('| %d | %s | %s | %s | %s | %s |' % (
        workers, fmt(sum(small.values())), fmt(conv_small),
        fmt(median([it['converge']['wait_seconds'] for it in iterations])),
        reboots_text(iterations[0]['converge']['reboots']),
        fmt(iterations[0]['converge']['reboots'].get('max_updating', {}).get('worker'))))
    w('| %d | %d | %s | %s | %s | %s |' % (
        size, sum(big.values()), fmt(cv['seconds'] - cv['wait_seconds']), fmt(cv['wait_seconds']),
        reboots_text(cv['reboots']), fmt(cv['reboots'].get('max_updating', {}).get('worker'))))
    w('')
    changed = ['%s %s -> %d' % (vr, fmt(small.get(vr, 0)), big.get(vr, 0)) for vr in sorted(set(small) | set(big))
               if vr != EXEC_VR and small.get(vr, 0) != big.get(vr, 0)]
    w('Requests that differ (%d -> %d workers): %s. The per-node read left out: verify execs once per node '
      '(%s requests per node at %d workers; its task took %s s, %s s per node).'
      % (workers, size, ', '.join(changed) if changed else 'none',
         fmt(median([summarize(it['converge']['events'], it['managed'])['by_verb_resource'].get(EXEC_VR, 0)
                     for it in iterations]) / workers, 1), workers, fmt(exec_secs), fmt(exec_secs / workers)))
    w('')
    small_t = collections.defaultdict(list)
    for it in iterations:
        per = collections.defaultdict(float)
        for n, s in it['converge']['tasks']:
            per[n] += s
        for n, s in per.items():
            small_t[n].append(s)
    small_t = dict((n, median(v)) for n, v in small_t.items())
    big_t = collections.defaultdict(float)
    for n, s in cv['tasks']:
        big_t[n] += s
    slow = sorted(((big_t[n] - small_t.get(n, 0), n) for n in big_t
                   if bench.module_of(n) != 'ocpv.density.mcp_wait' and big_t[n] - small_t.get(n, 0) > 1.0), reverse=True)
    w('Tasks more than 1 s slower at %d workers: ' % size
      + (', '.join('%s +%s s (%s -> %s)' % (n, fmt(d), fmt(small_t.get(n, 0)), fmt(big_t[n])) for d, n in slow[:8]) or 'none')
      + '.')
    w('')
    return lines


def write_readme(text):
    with open(README) as f:
        current = f.read()
    section = BEGIN + '\n' + text + END
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        new = head + section + tail
    else:
        new = current.rstrip('\n') + '\n\n## Site playbook against the local cluster\n\n' + section + '\n'
    with open(README, 'w') as f:
        f.write(new)


class ReportContext:
    """What report() needs of a Bench; rebuilt from the saved raw results by --report-from."""

    def __init__(self, info):
        self.info = info
        self.task_modules = task_module_map()

    def module_of(self, profile_name):
        return self.task_modules.get(profile_name.split(' : ', 1)[-1].strip(), '?')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--name', default='bench', help='local cluster name (default bench)')
    parser.add_argument('--runs', type=int, default=3, help='converge/no-op/kubectl runs; medians are reported (default 3)')
    parser.add_argument('--overcommit', type=int, default=150)
    parser.add_argument('--scale-workers', type=int, default=500, help='worker pool size of the scale run (0: skip)')
    parser.add_argument('--skip-documented', action='store_true', help='skip the documented two-rollout procedure')
    parser.add_argument('--python', action='store_true', help='also run benchmarks/python_scaling.py --repeat 3 (about 1-2 min)')
    parser.add_argument('--no-readme', action='store_true', help='print only; do not update benchmarks/README.md')
    parser.add_argument('--keep', action='store_true', help='keep the cluster (default: stop it if this run started it)')
    parser.add_argument('--report-from', metavar='RAW', help='only render the report from the raw.pickle of an earlier run')
    args = parser.parse_args()
    if args.report_from:
        with open(args.report_from, 'rb') as f:
            raw = pickle.load(f)
        text = report(ReportContext(argparse.Namespace(**raw['info'])), raw['iterations'], raw['documented'],
                      raw['scale'], raw['python_md'], argparse.Namespace(**raw['args'])) + raw['footer']
        print(text)
        if not args.no_readme:
            write_readme(text)
        return
    args.argv = sys.argv[1:]
    args.load = '%.1f' % os.getloadavg()[0]
    t0 = time.monotonic()
    bench = Bench(args)
    bench.up()
    extra = {'overcommit': args.overcommit, 'verify_report_dir': os.path.join(bench.work, 'reports')}
    try:
        iterations = phase_iterations(bench, args.runs, extra)
        documented = None if args.skip_documented else phase_documented(bench, bench.by_kind)
        scale = phase_scale(bench, args.scale_workers, extra) if args.scale_workers else None
        python_md = phase_python() if args.python else None
        footer = '\nBenchmark wall time: %.0f s (load average at the end %.1f).\n' % (time.monotonic() - t0, os.getloadavg()[0])
        raw = {'iterations': iterations, 'documented': documented, 'scale': scale, 'python_md': python_md, 'footer': footer,
               'info': dict(name=bench.info.name, release=bench.info.release, topology=bench.info.topology,
                            nodes=list(bench.info.nodes)),
               'args': dict(argv=args.argv, load=args.load)}
        with open(os.path.join(bench.work, 'raw.pickle'), 'wb') as f:
            pickle.dump(raw, f)
        text = report(bench, iterations, documented, scale, python_md, args) + footer
        print(text)
        if not args.no_readme:
            write_readme(text)
            log('benchmarks/README.md updated')
    finally:
        if bench.started and not args.keep:
            log('cluster %s: down' % args.name)
            localcluster.down(args.name, quiet=True)
        else:
            if scale_left_nodes(bench):
                remove_workers(bench)
            with contextlib.suppress(Exception):
                bench.reset()
        log('logs and raw results: %s' % bench.work)


def scale_left_nodes(bench):
    try:
        return any(re.match(r'^worker-([0-9]+)$', n['metadata']['name']) and int(n['metadata']['name'].split('-')[1]) >= 4
                   for n in bench.kube.list(api_path('v1', 'nodes')))
    except Exception:  # pylint: disable=broad-except
        return False


if __name__ == '__main__':
    main()

"""The local cluster harness: kube-apiserver/etcd/controllers, kwok nodes, the operator emulator.

Importable as a package from the checkout root (``from localcluster import cluster``; pytest.ini
puts the root on sys.path); ``python3 localcluster/cluster.py down|status`` still runs as a
stdlib-only script, which is why the modules fall back to plain imports.
"""

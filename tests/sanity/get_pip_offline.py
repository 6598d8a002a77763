# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Stand-in for the ``get-pip.py`` bootstrap script that ansible-test downloads.

ansible-test creates every sanity-test virtual environment without pip and bootstraps pip with
``get-pip-<version>.py`` from ci-files.testing.ansible.com, a host this network does not reach.
It first looks for a cached copy in ``~/.ansible/test/cache/get_pip_<version>.py``;
``tests/sanity/run.sh`` puts this file there, next to the pip wheel it fetched from PyPI.

Like get-pip.py, this is run as ``__main__`` with pip's install arguments plus the get-pip
options ``--no-setuptools`` / ``--no-wheel``; it runs pip straight from the wheel (a wheel is an
importable zip) to install pip into the running interpreter's environment.
"""

from __future__ import annotations

import glob
import os
import sys

GET_PIP_OPTIONS = ('--no-setuptools', '--no-wheel')


def find_wheel(directory, argv):
    """Return the pip wheel in directory matching the requested ``pip==X`` argument."""
    wanted = [arg.split('==', 1)[1] for arg in argv if arg.startswith('pip==')]
    pattern = 'pip-%s-py3-none-any.whl' % (wanted[0] if wanted else '*')
    wheels = sorted(glob.glob(os.path.join(directory, pattern)))

    if not wheels:
        sys.stderr.write('get_pip_offline: no %s in %s; run tests/sanity/run.sh to fetch it\n' % (pattern, directory))
        sys.exit(1)

    return wheels[-1]


def main():
    """Install pip from the wheel beside this script."""
    directory = os.path.dirname(os.path.abspath(__file__))
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_OPTIONS]
    wheel = find_wheel(directory, args)

    sys.path.insert(0, wheel)

    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    options = ['install', '--upgrade', '--force-reinstall', '--find-links', directory]
    packages = [arg for arg in args if not arg.startswith('-')]

    if all(package.startswith('pip==') for package in packages):
        options.append('--no-index')  # everything wanted is in the wheel beside this script

    sys.exit(pip_main(options + args))


if __name__ == '__main__':
    main()

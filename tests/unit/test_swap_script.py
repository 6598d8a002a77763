# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""roles/swap/files/ocpv-density-swap.sh, run with stub fallocate/mkswap/swapon/swapoff on PATH."""

import os
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "roles", "swap", "files", "ocpv-density-swap.sh")

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$STUB_LOG"
case "$(basename "$0")" in
  fallocate) size=$2; size=${size%MiB}; truncate -s "$((size * 1024 * 1024))" "$3" ;;
  swapon) printf '%s file 1 0 -2\\n' "$1" >> "$OCPV_SWAP_PROC/swaps" ;;
  swapoff) grep -v "^$1 " "$OCPV_SWAP_PROC/swaps" > "$OCPV_SWAP_PROC/swaps.new"; mv "$OCPV_SWAP_PROC/swaps.new" "$OCPV_SWAP_PROC/swaps" ;;
esac
"""


@pytest.fixture
def node(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("fallocate", "mkswap", "swapon", "swapoff"):
        stub = bin_dir / tool
        stub.write_text(STUB)
        stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "swaps").write_text("Filename Type Size Used Priority\n")
    swapfile = tmp_path / "swapfile"

    def run(mem_kb, percent):
        (proc / "meminfo").write_text("MemTotal:       %d kB\nMemFree:        1 kB\n" % mem_kb)
        env_file = tmp_path / "swap.env"
        env_file.write_text("OCPV_SWAP_OVERCOMMIT_PERCENT=%s\nOCPV_SWAP_FILE=%s\n" % (percent, swapfile))
        log = tmp_path / "log"
        log.write_text("")
        env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), STUB_LOG=str(log),
                   OCPV_SWAP_PROC=str(proc), OCPV_SWAP_ENV_FILE=str(env_file))
        result = subprocess.run(["sh", SCRIPT], env=env, capture_output=True, text=True, check=False)
        return result, log.read_text().splitlines()

    run.swapfile = swapfile
    run.swaps = proc / "swaps"
    return run


def test_sizes_from_memtotal_and_enables(node):
    result, calls = node(16 * 1024 * 1024, 150)  # 16 GiB at 150 % -> 8 GiB
    assert result.returncode == 0, result.stderr
    assert node.swapfile.stat().st_size == 8192 * 1024 * 1024
    assert calls == ["fallocate -l 8192MiB %s" % node.swapfile, "mkswap %s" % node.swapfile, "swapon %s" % node.swapfile]
    assert "8192 MiB" in result.stdout


def test_floor_like_the_contract(node):
    mem_kb = 16318412  # an odd MemTotal
    result, _calls = node(mem_kb, 175)
    assert result.returncode == 0, result.stderr
    assert node.swapfile.stat().st_size == (mem_kb * 75 // 100 // 1024) * 1024 * 1024


def test_reboot_with_the_right_file_only_enables_it(node):
    node(16 * 1024 * 1024, 150)
    node.swaps.write_text("Filename Type Size Used Priority\n")  # after a reboot nothing is active
    result, calls = node(16 * 1024 * 1024, 150)
    assert result.returncode == 0, result.stderr
    assert calls == ["swapon %s" % node.swapfile]


def test_rerun_while_active_does_nothing(node):
    node(16 * 1024 * 1024, 150)
    result, calls = node(16 * 1024 * 1024, 150)
    assert result.returncode == 0
    assert calls == []


def test_new_ratio_recreates_the_file(node):
    node(16 * 1024 * 1024, 150)
    result, calls = node(16 * 1024 * 1024, 200)
    assert result.returncode == 0, result.stderr
    assert calls[0] == "swapoff %s" % node.swapfile
    assert node.swapfile.stat().st_size == 16384 * 1024 * 1024


def test_no_overcommit_removes_swap(node):
    node(16 * 1024 * 1024, 150)
    result, calls = node(16 * 1024 * 1024, 100)
    assert result.returncode == 0, result.stderr
    assert calls == ["swapoff %s" % node.swapfile]
    assert not node.swapfile.exists()


def test_bad_percent_fails(node):
    result, calls = node(16 * 1024 * 1024, "1.5")
    assert result.returncode != 0
    assert "must be an integer" in result.stderr
    assert calls == []

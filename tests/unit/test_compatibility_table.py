# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""README's compatibility table is generated from profiles.yml (profiles.compatibility_table): this
test fails when the two drift apart. To update the README after changing a profile row:

    .venv/bin/python tests/unit/test_compatibility_table.py
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BEGIN = "<!-- compatibility table: generated from plugins/module_utils/profiles.yml, do not edit by hand -->\n"
END = "<!-- end of compatibility table -->\n"
BLOCK = re.compile(re.escape(BEGIN) + r"(.*?)" + re.escape(END), re.S)


def generated():
    from ansible_collections.ocpv.density.plugins.module_utils.profiles import compatibility_table
    return compatibility_table()


def test_readme_table_matches_the_profiles():
    match = BLOCK.search(README.read_text(encoding="utf-8"))
    assert match, "README.md has no compatibility table block"
    assert match.group(1) == generated(), (
        "README's compatibility table and profiles.yml differ; run: .venv/bin/python %s" % Path(__file__).relative_to(ROOT))


def test_every_row_is_in_the_table():
    from ansible_collections.ocpv.density.plugins.module_utils.profiles import load_profiles
    table = generated()
    for name, row in load_profiles().items():
        if row.get("implemented", True) is not False:
            assert "| `%s` |" % name in table


if __name__ == "__main__":
    import sys
    sys.path.insert(0, str(ROOT / ".collections"))  # run as a script: the collection from the checkout
    text = README.read_text(encoding="utf-8")
    README.write_text(BLOCK.sub(lambda m: BEGIN + generated() + END, text), encoding="utf-8")
    print("README.md compatibility table updated")

"""How long validation takes: 10,000 accounts, and each malformed case of the corpus (figures, no assertion).

    python bench/config_bench.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.config import ConfigError, load_config  # noqa: E402
from tests.config_corpus import MALFORMED  # noqa: E402
from tests.test_config_corpus import apply, base_config, ten_thousand_accounts  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = base_config(Path(tmp) / "big")
        (config_dir / "accounts.yaml").write_text(yaml.safe_dump(ten_thousand_accounts()), encoding="utf-8")
        size = (config_dir / "accounts.yaml").stat().st_size
        started = time.perf_counter()
        config = load_config(config_dir)
        print(f"10,000 accounts ({size / 1e6:.1f} MB): validated in {time.perf_counter() - started:.2f} s "
              f"({len(config.registry.accounts)} accounts)")
        slowest, refused = (0.0, ""), 0
        for index, (name, file, edit, _) in enumerate(MALFORMED):
            case_dir = base_config(Path(tmp) / f"case{index}")
            apply(case_dir, file, edit)
            started = time.perf_counter()
            try:
                load_config(case_dir)
            except ConfigError:
                refused += 1
            slowest = max(slowest, (time.perf_counter() - started, name))
        print(f"{refused} of {len(MALFORMED)} malformed cases refused; slowest: {slowest[1]} in {slowest[0]:.3f} s")


if __name__ == "__main__":
    main()

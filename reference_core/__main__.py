"""``python -m reference_core ...``: the same commands as ``jiubot core ...`` without jiubot itself."""

from __future__ import annotations

import argparse
import sys

from reference_core.cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_core")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["core", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""Summarise a py-spy raw (collapsed stacks) profile: the functions with the most
inclusive and self samples, as evidence for BENCHMARKS.md.

    .venv/bin/python bench/pyspy_top.py bench/profiles/webchat-eventlet-rep1.txt [N] [--match TEXT]
"""

import re
import sys
from collections import Counter
from pathlib import Path

# The checkout this file is in: its prefix is cut from the profile's paths.
ROOT = Path(__file__).resolve().parents[1]


def load(path):
    stacks = []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        frames, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue  # a line cut short while py-spy was being stopped
        stacks.append((frames.split(";"), int(count)))
    return stacks


def short(frame):
    # "func (path/to/module.py:123)" -> "func (module.py)"; line numbers vary by call site
    m = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    path = re.sub(r".*/site-packages/", "", path)
    path = path.removeprefix(f"{ROOT}/")
    return f"{func} ({path})"


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 30
    match = sys.argv[sys.argv.index("--match") + 1] if "--match" in sys.argv else None
    stacks = load(path)
    total = sum(c for _, c in stacks)
    inclusive, self_ = Counter(), Counter()
    for frames, count in stacks:
        names = [short(f) for f in frames]
        for name in set(names):
            inclusive[name] += count
        self_[names[-1]] += count
    print(f"{total} samples in {path}")
    print(f"\n{'incl %':>7} {'self %':>7}  function (inclusive, top {n})")
    for name, count in inclusive.most_common(n * 3):
        if match and match not in name:
            continue
        print(f"{100 * count / total:7.1f} {100 * self_[name] / total:7.1f}  {name}")
        n -= 1
        if n <= 0:
            break


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compares two `airbench bench --json` reports (e.g. of two commits, measured side by side on one machine).

Usage: scripts/bench_compare.py OLD.json NEW.json

Prints, per layer and pass, the milliseconds of both and NEW/OLD, then the training step (and the step after
the whitening bias freezes, where both reports have it) and the full-run estimate. Refuses reports of different
machines' settings (CPU model, kernel path, precision, threads, method, batch, widths), since their times are not
comparable.
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        sys.exit(f"bench_compare: {path}: {error}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old, new = load(sys.argv[1]), load(sys.argv[2])
    for key in ("kernelPath", "precision", "threads", "method", "batchSize", "widths"):
        if old.get(key) != new.get(key):
            sys.exit(f"bench_compare: the reports differ in {key} ({old.get(key)} vs {new.get(key)}): not comparable")
    if "cpu" in old and "cpu" in new and old["cpu"] != new["cpu"]:  # reports before 2026-12-07 have no cpu
        sys.exit(f"bench_compare: the reports are of different CPUs ({old['cpu']} vs {new['cpu']}): not comparable")
    print(f"{'layer':<10} {'pass':<17} {'old ms':>9} {'new ms':>9} {'new/old':>8}  algorithm old → new")
    before = {(l["layer"], l["pass"]): l for l in old["layers"]}
    for layer in new["layers"]:
        previous = before.get((layer["layer"], layer["pass"]))
        if previous is None:
            continue
        ratio = layer["milliseconds"] / previous["milliseconds"]
        algorithms = f"{previous.get('algorithm', old.get('convolution'))} → {layer.get('algorithm', new.get('convolution'))}"
        print(f"{layer['layer']:<10} {layer['pass']:<17} {previous['milliseconds']:9.2f} {layer['milliseconds']:9.2f} "
              f"{ratio:8.3f}  {algorithms}")
    for key, label in (("stepSeconds", "training step (s)"), ("frozenStepSeconds", "step, bias frozen (s)"),
                       ("fullRunSeconds", "full-run estimate (s)")):
        if old.get(key) and new.get(key):  # reports before the frozen steps were timed lack them
            print(f"{label:<28} {old[key]:9.3f} {new[key]:9.3f} {new[key] / old[key]:8.3f}")


if __name__ == "__main__":
    main()

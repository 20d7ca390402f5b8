#!/usr/bin/python3
"""prom_parse.py - reads a /metrics scrape (file argv[1]) with the Python
prometheus_client text parser (Debian's python3-prometheus-client) and
prints its samples as one JSON object {"name{l1=\"v1\",...}": value}, labels
sorted. Exits 1 (saying why on stderr) if the parser rejects the text, or if
a family lacks HELP or TYPE, a counter's samples do not end in _total, or a
histogram lacks its +Inf bucket, _sum or _count (test_health_metrics.c)."""
import json
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    helped = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    typed = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    out = {}
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own refusal
        print("prom_parse: rejected: %r" % (e,), file=sys.stderr)
        return 1
    if not families:
        print("prom_parse: no metrics", file=sys.stderr)
        return 1
    for f in families:
        full = f.name + "_total" if f.type == "counter" else f.name
        if full not in helped or typed.get(full) != f.type:
            print("prom_parse: %s lacks HELP or TYPE %s" % (full, f.type), file=sys.stderr)
            return 1
        if not f.name.startswith("qrlogin_"):
            print("prom_parse: %s is not qrlogin_*" % f.name, file=sys.stderr)
            return 1
        names = set(s.name for s in f.samples)
        if f.type == "counter" and names != {f.name + "_total"}:
            print("prom_parse: counter %s: samples %s" % (f.name, names), file=sys.stderr)
            return 1
        if f.type == "histogram":
            if not f.name.endswith("_seconds") or names != {
                    f.name + "_bucket", f.name + "_sum", f.name + "_count"}:
                print("prom_parse: histogram %s: samples %s" % (f.name, names),
                      file=sys.stderr)
                return 1
            if not any(s.labels.get("le") == "+Inf" for s in f.samples):
                print("prom_parse: histogram %s has no +Inf bucket" % f.name,
                      file=sys.stderr)
                return 1
        for s in f.samples:
            labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
            key = s.name + ("{" + labels + "}" if labels else "")
            if key in out:
                print("prom_parse: duplicate series %s" % key, file=sys.stderr)
                return 1
            out[key] = s.value
    json.dump(out, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

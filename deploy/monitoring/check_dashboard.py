"""Checks the Grafana dashboard: valid JSON for import, unique panel ids, every query names only metrics pinpipe
exports (MetricName.swift) or Prometheus' own `up`, and no label that could be a key or an object name."""
import json
import re
import sys

dashboard_path, names_path = sys.argv[1], sys.argv[2]
dashboard = json.load(open(dashboard_path))
exported = set(re.findall(r'"((?:pinpipe|process)_[a-z_]+)"', open(names_path).read()))
histogram_series = {f"{name}_{suffix}" for name in exported for suffix in ("bucket", "count", "sum")}
known = exported | histogram_series | {"up"}
problems = []
ids = [panel["id"] for panel in dashboard["panels"]]
if len(ids) != len(set(ids)):
    problems.append("panel ids are not unique")
if not any(i["name"] == "DS_PROMETHEUS" for i in dashboard.get("__inputs", [])):
    problems.append("no DS_PROMETHEUS input: Grafana's import would not ask for the data source")
queries = 0
for panel in dashboard["panels"]:
    for target in panel.get("targets", []):
        queries += 1
        expr = target["expr"]
        for metric in re.findall(r"\b((?:pinpipe|process)_[a-z_]+|up)\b(?=\s*[{\[]|\s*\)|\s*$| )", expr):
            if metric not in known:
                problems.append(f"panel {panel['title']!r}: unknown metric {metric}")
        for label in re.findall(r"by \(([^)]*)\)", expr):
            for name in (part.strip() for part in label.split(",")):
                if name not in {"topic", "partition", "table", "reason", "cause", "event", "operation", "le", "stage", "actor", "instance"}:
                    problems.append(f"panel {panel['title']!r}: unexpected label {name}")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"dashboard: {len(dashboard['panels'])} panels, {queries} queries, every metric exported by pinpipe")

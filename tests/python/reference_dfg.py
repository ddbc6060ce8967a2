"""Reference answers for Percorso's journey discovery, from pm4py's
directly-follows graph on the same Parquet files (each profile one case).

Reads one JSON request on stdin and prints one JSON answer on stdout:
  {"files": [...], "events": ["A", "B"]}      ("events" optional: keep only these)
-> {"edges": [[a, b, count, mean_seconds, median_seconds]],
    "start": {activity: cases}, "end": {activity: cases},
    "variants": [[[activities...], cases]]}

Events of one case at the same timestamp come in the order of pandas'
sort, so requests should not have any.
"""
import json
import sys


def load(req):
    import pandas as pd

    frames = [
        pd.read_parquet(f, columns=["profile_id", "event", "timestamp"])
        for f in req["files"]
    ]
    df = pd.concat(frames, ignore_index=True)
    if req.get("events") is not None:
        df = df[df["event"].isin(req["events"])]
    return df.sort_values(["profile_id", "timestamp"], kind="stable").reset_index(drop=True)


def main():
    import pm4py

    req = json.load(sys.stdin)
    df = pm4py.format_dataframe(
        load(req), case_id="profile_id", activity_key="event", timestamp_key="timestamp"
    )
    keys = {
        "case_id_key": "case:concept:name",
        "activity_key": "concept:name",
        "timestamp_key": "time:timestamp",
    }
    counts, start, end = pm4py.discover_dfg(df, **keys)
    performance, _, _ = pm4py.discover_performance_dfg(df, perf_aggregation_key="all", **keys)
    edges = [
        [a, b, int(n), float(performance[(a, b)]["mean"]), float(performance[(a, b)]["median"])]
        for (a, b), n in sorted(counts.items())
    ]
    variants = pm4py.get_variants(df, **keys)
    print(
        json.dumps(
            {
                "edges": edges,
                "start": {a: int(n) for a, n in start.items()},
                "end": {a: int(n) for a, n in end.items()},
                "variants": sorted([list(v), int(n)] for v, n in variants.items()),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Reference answers for Percorso's retention and lifecycle reports, from
DuckDB reading the same Parquet files with its own calendar functions
(date_trunc on UTC timestamps, interval arithmetic).

Reads one JSON request on stdin and prints one JSON answer on stdout:
  {"query": "retention", "files": [...], "interval": "day"|"week"|"month",
   "start": "A", "return": "B", "periods": 8,
   "retention_type": "recurring"|"first_time", "cumulative": false,
   "from": "2026-01-05", "to": "2026-02-01"}
-> {"horizon": "2026-02-09", "cohorts": [{"start", "size", "values"}],
    "aggregate": {"values": [...], "sizes": [...]}}

  {"query": "lifecycle", "files": [...], "interval": "day", "event": "A",
   "from": "2026-01-05", "to": "2026-02-01"}
-> {"horizon": "...", "intervals": [{"start", "new", "returning",
    "resurrecting", "dormant"}]}

Both follow the definitions in crates/analytics/src/retention/mod.rs:
reported intervals run from the one holding `from` to the one holding the
last instant before `to`, never past the horizon (the interval of the
newest event of any name); a cohort lists only the periods that began.
"""
import json
import sys


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def connect(req):
    import duckdb

    con = duckdb.connect()
    files = "[" + ", ".join(quote(f) for f in req["files"]) + "]"
    interval = req["interval"]
    if interval not in ("day", "week", "month"):
        raise SystemExit("interval must be day, week or month")
    # Naive UTC timestamps, so that no session time zone takes part.
    con.execute(
        "CREATE TABLE e AS SELECT profile_key AS p, event,"
        " date_trunc('%s', make_timestamp(epoch_ms(timestamp) * 1000)) AS i"
        " FROM read_parquet(%s)" % (interval, files)
    )
    return con


def bounds(con, req):
    """First and last reported interval, and the horizon (or None)."""
    interval = req["interval"]
    row = con.execute(
        "SELECT date_trunc('%s', CAST(? AS TIMESTAMP)),"
        " date_trunc('%s', CAST(? AS TIMESTAMP) - INTERVAL 1 MILLISECOND),"
        " (SELECT max(i) FROM e)" % (interval, interval),
        [req["from"], req["to"]],
    ).fetchone()
    first, last, horizon = row
    if horizon is None:
        return None
    return first, min(last, horizon), horizon


def series(con, req, first, last):
    rows = con.execute(
        "SELECT unnest(generate_series(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), INTERVAL 1 %s))"
        % req["interval"],
        [first, last],
    ).fetchall()
    return [r[0] for r in rows]


def periods_between(interval, a, b):
    """Whole intervals from a to b, both interval starts."""
    if interval == "month":
        return (b.year - a.year) * 12 + b.month - a.month
    days = (b - a).days
    return days // 7 if interval == "week" else days


def retention(req):
    con = connect(req)
    span = bounds(con, req)
    if span is None:
        return {"horizon": None, "cohorts": [], "aggregate": {"values": [], "sizes": []}}
    first, last, horizon = span
    interval, periods = req["interval"], req["periods"]
    if req.get("retention_type", "recurring") == "first_time":
        cohorts = "SELECT p, min(i) AS c FROM e WHERE event = %s GROUP BY p" % quote(req["start"])
    else:
        cohorts = "SELECT DISTINCT p, i AS c FROM e WHERE event = %s" % quote(req["start"])
    k = {
        "day": "date_diff('day', m.c, r.i)",
        "week": "date_diff('day', m.c, r.i) // 7",
        "month": "date_diff('month', m.c, r.i)",
    }[interval]
    con.execute(
        "CREATE TABLE members AS SELECT * FROM (%s) WHERE c BETWEEN ? AND ?" % cohorts,
        [first, last],
    )
    con.execute(
        "CREATE TABLE back AS SELECT m.p, m.c, %s AS k FROM members m"
        " JOIN (SELECT DISTINCT p, i FROM e WHERE event = %s) r ON r.p = m.p"
        " WHERE %s BETWEEN 1 AND %d" % (k, quote(req["return"]), k, periods - 1)
    )
    if req.get("cumulative"):
        counted = (
            "SELECT c, t.k, count(*) FROM (SELECT p, c, max(k) AS latest FROM back GROUP BY p, c)"
            " JOIN range(1, %d) t(k) ON t.k <= latest GROUP BY ALL" % periods
        )
    else:
        counted = "SELECT c, k, count(*) FROM back GROUP BY ALL"
    values = {(c, k): n for c, k, n in con.execute(counted).fetchall()}
    sizes = dict(con.execute("SELECT c, count(*) FROM members GROUP BY c").fetchall())
    rows = []
    for c in series(con, req, first, last):
        begun = min(periods, periods_between(interval, c, horizon) + 1)
        size = sizes.get(c, 0)
        row_values = [size] + [values.get((c, k), 0) for k in range(1, begun)]
        rows.append({"start": str(c.date()), "size": size, "values": row_values})
    longest = max((len(r["values"]) for r in rows), default=0)
    aggregate = {"values": [0] * longest, "sizes": [0] * longest}
    for r in rows:
        for k, v in enumerate(r["values"]):
            aggregate["values"][k] += v
            aggregate["sizes"][k] += r["size"]
    return {"horizon": str(horizon.date()), "cohorts": rows, "aggregate": aggregate}


def lifecycle(req):
    con = connect(req)
    span = bounds(con, req)
    if span is None:
        return {"horizon": None, "intervals": []}
    first, last, horizon = span
    step = "INTERVAL 1 %s" % req["interval"]
    sql = """
    WITH a AS (SELECT DISTINCT p, i FROM e WHERE event = {event}),
    f AS (SELECT p, min(i) AS first FROM a GROUP BY p),
    s AS (
      SELECT a.i AS t,
             CASE WHEN a.i = f.first THEN 'new'
                  WHEN prev.p IS NOT NULL THEN 'returning'
                  ELSE 'resurrecting' END AS status
      FROM a JOIN f ON f.p = a.p
      LEFT JOIN a prev ON prev.p = a.p AND prev.i = a.i - {step}
      UNION ALL
      SELECT a.i + {step} AS t, 'dormant' AS status
      FROM a LEFT JOIN a nxt ON nxt.p = a.p AND nxt.i = a.i + {step}
      WHERE nxt.p IS NULL
    )
    SELECT t, status, count(*) FROM s GROUP BY ALL
    """.format(event=quote(req["event"]), step=step)
    counts = {(t, status): n for t, status, n in con.execute(sql).fetchall()}
    rows = []
    for t in series(con, req, first, last):
        row = {"start": str(t.date())}
        for status in ("new", "returning", "resurrecting"):
            row[status] = counts.get((t, status), 0)
        row["dormant"] = -counts.get((t, "dormant"), 0)
        rows.append(row)
    return {"horizon": str(horizon.date()), "intervals": rows}


def main():
    req = json.load(sys.stdin)
    queries = {"retention": retention, "lifecycle": lifecycle}
    json.dump(queries[req["query"]](req), sys.stdout)


if __name__ == "__main__":
    main()

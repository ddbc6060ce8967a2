"""Reference answers for Percorso's analytics, from ClickHouse (chdb) and
DuckDB reading the same Parquet files.

Reads one JSON request on stdin and prints one JSON answer on stdout:
  {"engine": "chdb"|"duckdb", "query": "funnel", "files": [...],
   "window_ms": 86400000, "mode": "default", "steps": ["A", "B", ...]}
-> {"levels": {"1": n1, "2": n2, ...}, "seconds": t}

`levels[k]` counts people whose furthest step is k (k >= 1), as
windowFunnel returns it. `seconds` is the query alone, without start-up.
"""
import json
import resource
import sys
import time


def sql_list(values):
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def chdb_funnel(req):
    import chdb

    files = sql_list(req["files"])
    mode = req.get("mode", "default")
    mode_arg = "" if mode == "default" else ", '%s'" % mode
    conds = ", ".join("event = '%s'" % s.replace("'", "''") for s in req["steps"])
    sql = (
        "SELECT level, count() AS people FROM ("
        " SELECT profile_key, windowFunnel(%d%s)(toUInt64(toUnixTimestamp64Milli(timestamp)), %s) AS level"
        " FROM file(%s) GROUP BY profile_key) WHERE level > 0 GROUP BY level ORDER BY level"
    )
    # file() takes one path or a glob; several files are read with a UNION.
    if len(req["files"]) == 1:
        source = "'%s', Parquet" % req["files"][0]
        sql = sql % (req["window_ms"], mode_arg, conds, source)
    else:
        union = " UNION ALL ".join(
            "SELECT profile_key, timestamp, event FROM file('%s', Parquet)" % f for f in req["files"]
        )
        sql = (
            "SELECT level, count() AS people FROM ("
            " SELECT profile_key, windowFunnel(%d%s)(toUInt64(toUnixTimestamp64Milli(timestamp)), %s) AS level"
            " FROM (%s) GROUP BY profile_key) WHERE level > 0 GROUP BY level ORDER BY level"
        ) % (req["window_ms"], mode_arg, conds, union)
    threads = req.get("threads")
    if threads:
        sql += " SETTINGS max_threads = %d" % threads
    start = time.perf_counter()
    out = chdb.query(sql, "JSONCompact")
    seconds = time.perf_counter() - start
    rows = json.loads(out.bytes())["data"]
    return {"levels": {str(r[0]): int(r[1]) for r in rows}, "seconds": seconds}


def duckdb_funnel(req):
    """The default mode as ASOF joins: from each step-1 event, the first
    step-2 event at or after it, then the first step-3 at or after that, ...
    within the window of the step-1 event; a person's level is the best
    over their step-1 events. Equal to windowFunnel's default mode."""
    import duckdb

    if req.get("mode", "default") != "default":
        raise SystemExit("duckdb reference supports the default mode only")
    con = duckdb.connect()
    threads = req.get("threads")
    if threads:
        con.execute("SET threads = %d" % threads)
    steps = req["steps"]
    files = "[" + sql_list(req["files"]) + "]"
    w = req["window_ms"]
    ctes = [
        "e AS (SELECT profile_key AS p, epoch_ms(timestamp) AS t, event FROM read_parquet(%s) WHERE event IN (%s))"
        % (files, sql_list(steps))
    ]
    ctes.append("s1 AS (SELECT p, t AS t0, t AS t1 FROM e WHERE event = '%s')" % steps[0].replace("'", "''"))
    for k in range(2, len(steps) + 1):
        name = steps[k - 1].replace("'", "''")
        ctes.append(
            "e%d AS (SELECT p, t FROM e WHERE event = '%s')" % (k, name)
        )
        ctes.append(
            "s%d AS (SELECT s.p, s.t0, x.t AS t%d FROM s%d s ASOF JOIN e%d x ON s.p = x.p AND x.t >= s.t%d WHERE x.t <= s.t0 + %d)"
            % (k, k, k - 1, k, k - 1, w)
        )
    # Level per person: the highest k with a chain.
    unions = " UNION ALL ".join("SELECT p, %d AS k FROM s%d" % (k, k) for k in range(1, len(steps) + 1))
    sql = (
        "WITH " + ", ".join(ctes) + ", levels AS (SELECT p, max(k) AS level FROM (" + unions + ") GROUP BY p) "
        "SELECT level, count(*) FROM levels GROUP BY level ORDER BY level"
    )
    start = time.perf_counter()
    rows = con.execute(sql).fetchall()
    seconds = time.perf_counter() - start
    return {"levels": {str(r[0]): int(r[1]) for r in rows}, "seconds": seconds}


def duckdb_paths(req):
    """Sankey links of session paths from the session's first event:
    sessions split where events are more than `gap_ms` apart, repeats
    collapsed, the first `steps` events of each session. Events of one
    person at the same time and receipt are ordered by their row in the
    file, as Percorso reads them; without that the engines order such ties
    differently from run to run (two pairs in the 100M benchmark file)."""
    import duckdb

    con = duckdb.connect()
    files = "[" + sql_list(req["files"]) + "]"
    sql = """
    WITH e AS (SELECT profile_key AS p, epoch_ms(timestamp) AS t, epoch_ms(received_at) AS r, event,
                      file_row_number AS o
               FROM read_parquet(%s, file_row_number = true)),
    g AS (SELECT *, CASE WHEN lag(t) OVER w IS NULL OR t - lag(t) OVER w > %d THEN 1 ELSE 0 END AS fresh
          FROM e WINDOW w AS (PARTITION BY p ORDER BY t, r, o)),
    s AS (SELECT *, sum(fresh) OVER (PARTITION BY p ORDER BY t, r, o ROWS UNBOUNDED PRECEDING) AS session FROM g),
    c AS (SELECT *, lag(event) OVER (PARTITION BY p, session ORDER BY t, r, o) AS prev FROM s),
    d AS (SELECT p, session, t, r, o, event FROM c WHERE prev IS NULL OR prev <> event),
    n AS (SELECT *, row_number() OVER (PARTITION BY p, session ORDER BY t, r, o) AS k,
                 lead(event) OVER (PARTITION BY p, session ORDER BY t, r, o) AS next FROM d)
    SELECT k, event, next, count(*) FROM n WHERE k < %d AND next IS NOT NULL GROUP BY ALL
    """ % (files, req["gap_ms"], req["steps"])
    start = time.perf_counter()
    rows = con.execute(sql).fetchall()
    seconds = time.perf_counter() - start
    links = {"%d_%s -> %d_%s" % (r[0], r[1], r[0] + 1, r[2]): int(r[3]) for r in rows}
    return {"links": links, "seconds": seconds}


def chdb_paths(req):
    """The same as duckdb_paths, in ClickHouse SQL."""
    import chdb

    source = " UNION ALL ".join(
        "SELECT profile_key, timestamp, received_at, event, _row_number AS o FROM file('%s', Parquet)" % f
        for f in req["files"]
    )
    frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    sql = """
    WITH e AS (SELECT profile_key AS p, toUnixTimestamp64Milli(timestamp) AS t,
                      toUnixTimestamp64Milli(received_at) AS r, event, o FROM (%(source)s)),
    g AS (SELECT *, if(row_number() OVER w = 1 OR t - lagInFrame(t) OVER w > %(gap)d, 1, 0) AS fresh
          FROM e WINDOW w AS (PARTITION BY p ORDER BY t, r, o %(frame)s)),
    s AS (SELECT *, sum(fresh) OVER (PARTITION BY p ORDER BY t, r, o %(frame)s) AS session FROM g),
    c AS (SELECT *, row_number() OVER w AS first, lagInFrame(event) OVER w AS prev
          FROM s WINDOW w AS (PARTITION BY p, session ORDER BY t, r, o %(frame)s)),
    d AS (SELECT p, session, t, r, o, event FROM c WHERE first = 1 OR prev != event),
    n AS (SELECT *, row_number() OVER (PARTITION BY p, session ORDER BY t, r, o %(frame)s) AS k,
                 leadInFrame(event) OVER v AS next, count() OVER v AS pair
          FROM d WINDOW v AS (PARTITION BY p, session ORDER BY t, r, o ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING))
    SELECT k, event, next, count() FROM n WHERE k < %(steps)d AND pair = 2 GROUP BY k, event, next
    """ % {"source": source, "gap": req["gap_ms"], "steps": req["steps"], "frame": frame}
    start = time.perf_counter()
    out = chdb.query(sql, "JSONCompact")
    seconds = time.perf_counter() - start
    rows = json.loads(out.bytes())["data"]
    links = {"%d_%s -> %d_%s" % (int(r[0]), r[1], int(r[0]) + 1, r[2]): int(r[3]) for r in rows}
    return {"links": links, "seconds": seconds}


def dfg_sql(source, lead):
    return (
        "SELECT event, next, count(*) AS n FROM ("
        " SELECT event, %s AS next FROM %s) WHERE next IS NOT NULL GROUP BY event, next" % (lead, source)
    )


def duckdb_dfg(req):
    """Directly-follows counts: each event and the person's next event."""
    import duckdb

    files = "[" + sql_list(req["files"]) + "]"
    lead = "lead(event) OVER (PARTITION BY profile_key ORDER BY timestamp, received_at, file_row_number)"
    sql = dfg_sql("read_parquet(%s, file_row_number = true)" % files, lead)
    start = time.perf_counter()
    rows = duckdb.connect().execute(sql).fetchall()
    seconds = time.perf_counter() - start
    return {"edges": {"%s -> %s" % (r[0], r[1]): int(r[2]) for r in rows}, "seconds": seconds}


def chdb_dfg(req):
    import chdb

    source = "(%s)" % " UNION ALL ".join(
        "SELECT profile_key, timestamp, received_at, event, _row_number AS o FROM file('%s', Parquet)" % f
        for f in req["files"]
    )
    lead = (
        "leadInFrame(toNullable(event)) OVER (PARTITION BY profile_key ORDER BY timestamp, received_at, o"
        " ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)"
    )
    sql = dfg_sql(source, lead)
    start = time.perf_counter()
    out = chdb.query(sql, "JSONCompact")
    seconds = time.perf_counter() - start
    rows = json.loads(out.bytes())["data"]
    return {"edges": {"%s -> %s" % (r[0], r[1]): int(r[2]) for r in rows}, "seconds": seconds}


def peak_rss_mib():
    """VmHWM of this process. (ru_maxrss would carry the parent's peak over
    fork and exec.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    req = json.load(sys.stdin)
    engines = {
        ("chdb", "funnel"): chdb_funnel,
        ("duckdb", "funnel"): duckdb_funnel,
        ("duckdb", "paths"): duckdb_paths,
        ("chdb", "paths"): chdb_paths,
        ("duckdb", "dfg"): duckdb_dfg,
        ("chdb", "dfg"): chdb_dfg,
    }
    answer = engines[(req["engine"], req.get("query", "funnel"))](req)
    answer["max_rss_mib"] = peak_rss_mib()
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()

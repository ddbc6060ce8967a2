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
        sql = sql.replace("FROM file(", "FROM file(", 1)
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


def main():
    req = json.load(sys.stdin)
    engines = {("chdb", "funnel"): chdb_funnel, ("duckdb", "funnel"): duckdb_funnel}
    answer = engines[(req["engine"], req.get("query", "funnel"))](req)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()

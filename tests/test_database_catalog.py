"""PostgreSQL schemas and MySQL databases as department.schema.table; statistics from the server catalogs."""

from __future__ import annotations

import fedquery
from tests.conftest import PG_DSN, mysql_admin, mysql_url, pg_admin


def test_postgres_schemas(pg_schema: str) -> None:
    con = pg_admin()
    with con.cursor() as cur:
        cur.execute(f'CREATE TABLE "{pg_schema}".cases (id INT PRIMARY KEY, region TEXT)')
        cur.execute(f"INSERT INTO \"{pg_schema}\".cases SELECT g, 'r' || (g % 3) FROM generate_series(1, 3000) g")
        cur.execute(f'ANALYZE "{pg_schema}".cases')
    con.close()
    source = {"kind": "postgres", "url": PG_DSN, "schemas": ["public", pg_schema]}
    with fedquery.connect({"departments": {"ukhsa": {"sources": {"db": source}}}}) as fed:
        names = {t["table"] for t in fed.tables()}
        assert f"ukhsa.{pg_schema}.cases" in names  # not the default schema: qualified
        assert fed.sql(f"SELECT count(*) FROM ukhsa.{pg_schema}.cases WHERE region = 'r1'").fetchall() == [(1000,)]
        table = fed.catalog.resolve(["ukhsa", pg_schema, "cases"])
        stats = table.connector.statistics(table.info)
        assert stats.row_count == 3000 and stats.size_bytes and stats.size_bytes > 0
        # Column statistics from pg_stats: the server's own ANALYZE.
        assert (stats.columns["id"].min, stats.columns["id"].max) == (1, 3000)
        assert stats.columns["id"].distinct == 3000 and stats.columns["region"].distinct == 3
        assert stats.columns["region"].null_count == 0 and stats.columns["region"].min is None  # text: no min/max
        # fedquery analyze gives the same figures exactly, computed inside PostgreSQL.
        (entry,) = fed.analyze(f"ukhsa.{pg_schema}.cases")
        assert entry.stats.columns["region"].distinct == 3 and entry.stats.columns["id"].max == 3000
    with fedquery.connect({"departments": {"ukhsa": {"sources": {"db": {**source, "schema": pg_schema}}}}}) as fed:
        assert fed.sql("SELECT count(*) FROM ukhsa.cases").fetchall() == [(3000,)]  # default schema omitted


def test_mysql_databases_are_schemas(mysql_database: str) -> None:
    other = f"{mysql_database}_x"
    con = mysql_admin()
    with con.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{other}`")
        cur.execute(f"CREATE TABLE `{mysql_database}`.pupils (id INT PRIMARY KEY, school INT)")
        cur.execute(f"INSERT INTO `{mysql_database}`.pupils SELECT seq, seq % 10 FROM test.seq_1_to_500")
        cur.execute(f"CREATE TABLE `{other}`.schools (id INT PRIMARY KEY, name VARCHAR(20))")
        cur.execute(f"INSERT INTO `{other}`.schools SELECT seq, CONCAT('School ', seq) FROM test.seq_0_to_9")
        cur.execute(f"ANALYZE TABLE `{mysql_database}`.pupils")
    try:
        source = {"kind": "mysql", "url": mysql_url(mysql_database), "schemas": [mysql_database, other]}
        with fedquery.connect({"departments": {"dfe": {"sources": {"db": source}}}}) as fed:
            sql = (
                f"SELECT s.name, count(*) FROM dfe.pupils p JOIN dfe.{other}.schools s ON s.id = p.school "
                "GROUP BY s.name"
            )
            plan = fed.explain(sql)
            (fragment,) = plan.fragments  # one server: the cross-database join runs there
            assert "join" in fragment.pushed and f"`{other}`.`schools`" in fragment.sql
            assert "GROUP BY" not in fragment.sql  # text GROUP BY stays local (collation)
            assert sorted(fed.sql(sql).fetchall())[0] == ("School 0", 50)
            table = fed.catalog.resolve(["dfe", "pupils"])
            stats = table.connector.statistics(table.info)
            assert stats.row_count == 500 and stats.columns["id"].distinct == 500  # primary key cardinality
            (entry,) = fed.analyze("dfe.pupils")
            assert entry.method == "analyze" and entry.stats.columns["school"].distinct == 10
            assert (entry.stats.columns["school"].min, entry.stats.columns["school"].max) == (0, 9)
    finally:
        with con.cursor() as cur:
            cur.execute(f"DROP DATABASE `{other}`")
        con.close()

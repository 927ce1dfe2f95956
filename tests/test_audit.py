"""The audit log: one hash-chained record per query event; verify names the first bad record."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import fedquery
from fedquery.audit import GENESIS, AuditLog, record_hash
from fedquery.audit_record import summarise_sql
from fedquery.cli import main
from fedquery.errors import AuditError, AuditIntegrityError, ReadOnlyError, UnknownTableError


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fedquery.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("audit_demo"))


@pytest.fixture(scope="module")
def real_log(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The lines of a log written by real queries: allowed, failed while reading, refused at planning."""
    log = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    fed = fedquery.connect(_config(demo, log), user="ana", groups=["analysts"], purpose="audit-test")
    assert fed.sql("SELECT count(*) FROM dwp.claims").fetchall()[0][0] > 0
    with pytest.raises(UnknownTableError):
        fed.sql("SELECT * FROM dwp.nope")
    with pytest.raises(ReadOnlyError):
        fed.sql("DELETE FROM dwp.claims")
    with pytest.raises(fedquery.errors.FedQueryError):  # fails while reading (a failing cast in the local step)
        fed.sql("SELECT CAST(benefit AS INTEGER) FROM dwp.claims").fetchall()
    fed.sql("SELECT * FROM hmrc.income").close()  # closed unread
    fed.explain("SELECT region, count(*) FROM dwp.claims GROUP BY region")
    fed.explain("SELECT count(*) FROM dfe.fsm_eligibility", analyze=True)
    fed.close()
    return log.read_text(encoding="utf-8").splitlines(keepends=True)


def _config(demo: Path, log: Path) -> Path:
    """The demo catalog with its audit log at ``log``."""
    text = demo.read_text(encoding="utf-8").replace(
        "[settings]\n", f"[settings]\naudit_log = {json.dumps(str(log))}\n", 1
    )
    path = demo.parent / f"fedquery-{log.parent.name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _write(tmp_path: Path, lines: list[str]) -> AuditLog:
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return AuditLog(path)


def test_real_queries_leave_one_record_each_and_verify(real_log: list[str], tmp_path: Path) -> None:
    log = _write(tmp_path, real_log)
    report = log.verify()
    assert report.records == len(real_log)
    queries = log.records()
    by_sql = {q["sql"]: q for q in queries}
    assert len(queries) == 7
    ok = by_sql["SELECT count(*) FROM dwp.claims"]
    assert (ok["outcome"], ok["rows"], ok["user"], ok["groups"], ok["purpose"]) == (
        "ok",
        1,
        "ana",
        ["analysts"],
        "audit-test",
    )
    assert ok["departments"] == ["dwp"] and ok["fragments"][0]["sql"].startswith("SELECT")
    assert ok["sql_sha256"] == __import__("hashlib").sha256(b"SELECT count(*) FROM dwp.claims").hexdigest()
    assert by_sql["SELECT * FROM dwp.nope"]["error"]["class"] == "UnknownTableError"
    assert by_sql["SELECT * FROM dwp.nope"]["departments"] == ["dwp"]
    assert by_sql["DELETE FROM dwp.claims"]["error"]["class"] == "ReadOnlyError"
    failed = by_sql["SELECT CAST(benefit AS INTEGER) FROM dwp.claims"]
    # (a local file source casts in its own DuckDB: the failure is the source's)
    assert failed["outcome"] == "error" and failed["error"]["class"] in (
        "ExecutionError",
        "ConversionError",
        "SourceError",
    )
    closed = by_sql["SELECT * FROM hmrc.income"]
    assert (closed["outcome"], closed["read_to_end"]) == ("ok", False)
    assert by_sql["SELECT region, count(*) FROM dwp.claims GROUP BY region"]["entry"] == "explain"
    analyzed = by_sql["SELECT count(*) FROM dfe.fsm_eligibility"]
    assert (analyzed["entry"], analyzed["rows"]) == ("explain analyze", 1)
    assert [q["sql"] for q in log.records(outcome="error")] == [
        "SELECT * FROM dwp.nope", "DELETE FROM dwp.claims", "SELECT CAST(benefit AS INTEGER) FROM dwp.claims",
    ]  # fmt: skip
    assert {q["sql"] for q in log.records(department="hmrc")} == {"SELECT * FROM hmrc.income"}
    assert log.records(user="someone-else") == []
    assert log.records(since="2999-01-01T00:00:00Z") == [] and len(log.records(until="2999-01-01")) == 7


def _rehashed(line: str, **changes: Any) -> str:
    record = json.loads(line)
    record.update(changes)
    record["hash"] = record_hash(record)
    return json.dumps(record, sort_keys=True) + "\n"


def _bad_line(log: AuditLog, expect_head: str | None = None) -> tuple[int, str]:
    with pytest.raises(AuditIntegrityError) as info:
        log.verify(expect_head)
    return info.value.line, info.value.problem


def test_any_single_edit_is_found_at_its_line(real_log: list[str], tmp_path: Path) -> None:
    for i in range(len(real_log)):
        lines = list(real_log)
        record = json.loads(lines[i])
        record["user"] = "mallory"  # edited without fixing the hash
        lines[i] = json.dumps(record) + "\n"
        assert _bad_line(_write(tmp_path, lines)) == (i + 1, "edited: its content does not match its hash")


def test_an_edit_with_its_hash_recomputed_is_found_at_the_next_link(real_log: list[str], tmp_path: Path) -> None:
    head = json.loads(real_log[-1])["hash"]
    for i in range(len(real_log)):
        lines = list(real_log)
        lines[i] = _rehashed(lines[i], rows=999)
        log = _write(tmp_path, lines)
        line, problem = _bad_line(log, head)
        assert line == i + 2, (i, problem)
        assert "edited" in problem or "removed" in problem or "head" in problem


def test_any_removal_is_found(real_log: list[str], tmp_path: Path) -> None:
    head = json.loads(real_log[-1])["hash"]
    for i in range(len(real_log)):
        lines = real_log[:i] + real_log[i + 1 :]
        line, problem = _bad_line(_write(tmp_path, lines), head)
        assert line == i + 1 and ("removed" in problem or "truncated" in problem), (i, problem)


def test_any_insertion_is_found(real_log: list[str], tmp_path: Path) -> None:
    """A forged record with a valid hash of its own, linked to the record before it, at every position."""
    for i in range(len(real_log) + 1):
        prev = json.loads(real_log[i - 1])["hash"] if i else GENESIS
        forged = _rehashed(real_log[0], prev=prev, user="mallory", sql="SELECT 'nothing to see'")
        lines = real_log[:i] + [forged] + real_log[i:]
        line, problem = _bad_line(_write(tmp_path, lines), json.loads(real_log[-1])["hash"])
        if i < len(real_log):
            assert (line, problem.split(":")[0]) == (i + 1, "inserted"), (i, problem)
        else:  # appended at the end: only the kept head hash can tell
            assert "truncated" in problem or "head" in problem


def test_any_reordering_is_found(real_log: list[str], tmp_path: Path) -> None:
    for i in range(len(real_log) - 1):
        lines = list(real_log)
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
        line, problem = _bad_line(_write(tmp_path, lines))
        assert line == i + 1 and problem.split(":")[0] in ("reordered", "removed"), (i, problem)


def test_truncation_and_garbage_are_named(real_log: list[str], tmp_path: Path) -> None:
    cut = real_log[:-1] + [real_log[-1][: len(real_log[-1]) // 2]]
    assert _bad_line(_write(tmp_path, cut)) == (len(real_log), "truncated: the last record is incomplete")
    garbage = real_log[:2] + ["{not json\n"] + real_log[2:]
    assert _bad_line(_write(tmp_path, garbage)) == (3, "not JSON (the line was edited or damaged)")
    assert _write(tmp_path, real_log).verify(json.loads(real_log[-1])["hash"]).records == len(real_log)


def test_threads_keep_the_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    threads = [
        threading.Thread(target=lambda n=n: [log.append({"event": "end", "n": n, "i": i}) for i in range(25)])
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.verify().records == 200


def _append_many(path: str, tag: str) -> None:
    log = AuditLog(path)
    for i in range(100):
        log.append({"event": "end", "process": tag, "i": i})


def test_two_processes_keep_the_chain(tmp_path: Path) -> None:
    path = str(tmp_path / "audit.jsonl")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(path, tag)) for tag in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    log = AuditLog(path)
    assert log.verify().records == 200
    assert {r["process"] for r in log.records()} == {"a", "b"}


def test_an_unwritable_log_refuses_the_query(demo: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the log's directory should be")
    fed = fedquery.connect(_config(demo, blocked / "audit.jsonl"), user="ana")
    with pytest.raises(AuditError) as info:
        fed.sql("SELECT count(*) FROM dwp.claims")
    assert "cannot be written" in str(info.value) and info.value.exit_code == 9
    fed.close()


def test_default_log_is_beside_the_catalog_and_dict_configs_have_none(demo: Path) -> None:
    with fedquery.connect(demo) as fed:
        assert fed.audit is not None and fed.audit.path == demo.parent / "audit.jsonl"
    with fedquery.connect({"departments": {"d": {"sources": {}}}}) as fed:
        assert fed.audit is None
    off = demo.parent / "off.toml"
    off.write_text(demo.read_text().replace("[settings]\n", "[settings]\naudit_log = false\n", 1))
    with fedquery.connect(off) as fed:
        assert fed.audit is None
    with pytest.raises(fedquery.errors.ConfigError, match="settings.audit_log"):
        fedquery.connect({"departments": {"d": {"sources": {}}}, "settings": {"audit_log": 3}})


def test_semi_join_key_lists_are_summarised() -> None:
    keys = ", ".join(str(k) for k in range(2911))
    assert summarise_sql(f"SELECT a FROM t WHERE t.k IN ({keys})") == "SELECT a FROM t WHERE t.k IN (<2,911 keys>)"
    names = ", ".join(f"'n''{k}'" for k in range(20))
    assert summarise_sql(f"SELECT a FROM t WHERE t.k IN ({names})") == "SELECT a FROM t WHERE t.k IN (<20 keys>)"
    assert summarise_sql("SELECT a FROM t WHERE t.k IN (1, 2)") == "SELECT a FROM t WHERE t.k IN (1, 2)"


def test_cli_verify_and_show(real_log: list[str], tmp_path: Path) -> None:
    log = _write(tmp_path, real_log)
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify", "--log", str(log.path)])
    assert ok.exit_code == 0 and f"ok: {len(real_log)} records" in ok.output
    shown = runner.invoke(main, ["audit", "show", "--log", str(log.path), "--outcome", "error", "--format", "json"])
    assert shown.exit_code == 0 and len(json.loads(shown.output)) == 3
    table = runner.invoke(main, ["audit", "show", "--log", str(log.path), "--department", "dwp"])
    assert "SELECT count(*) FROM dwp.claims" in table.output and "hmrc" not in table.output
    lines = list(real_log)
    lines[1] = lines[1].replace('"ana"', '"eve"', 1)
    log.path.write_text("".join(lines))
    bad = runner.invoke(main, ["audit", "verify", "--log", str(log.path)])
    assert bad.exit_code == 10 and "line 2: edited" in bad.output
    bad_time = runner.invoke(main, ["audit", "show", "--log", str(log.path), "--since", "yesterday"])
    assert bad_time.exit_code == 9 and "ISO 8601" in bad_time.output


def test_postgres_remote_sql_is_in_the_record(tmp_path: Path) -> None:
    from tests.conftest import PG_DSN, own_schema_and_database, pg_run

    with own_schema_and_database("fq_audit") as name:
        pg_run(
            f'CREATE TABLE "{name}".people (id INT PRIMARY KEY, region TEXT)',
            f"INSERT INTO \"{name}\".people VALUES (1, 'A'), (2, 'B')",
        )
        config = {
            "departments": {"pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name}}}},
            "settings": {"audit_log": str(tmp_path / "audit.jsonl")},
        }
        with fedquery.connect(config, user="ana") as fed:
            assert fed.sql("SELECT region FROM pg.people WHERE id = 2").fetchall() == [("B",)]
            assert fed.audit is not None
            (record,) = fed.audit.records()
        assert record["outcome"] == "ok" and record["rows"] == 1
        (fragment,) = record["fragments"]
        assert fragment["kind"] == "postgres" and name in fragment["sql"] and "= 2" in fragment["sql"]
        assert os.path.getsize(tmp_path / "audit.jsonl") > 0


@pytest.mark.usefixtures("reductions_at_any_size")
def test_semi_join_keys_sent_to_a_source_are_summarised_in_the_record(demo: Path, tmp_path: Path) -> None:
    """The Pension Credit claimants' ids are sent to the income DuckDB file; the audit names how many."""
    fed = fedquery.connect(_config(demo, tmp_path / "audit.jsonl"))
    result = fed.sql(
        "SELECT c.region, count(*) FROM dwp.claims c JOIN hmrc.income i ON i.person_id = c.person_id "
        "AND i.tax_year = '2019-20' WHERE c.benefit = 'Pension Credit' GROUP BY c.region"
    )
    result.fetchall()
    (reduced,) = [s for s in result.stats if s.reduced_keys]
    assert "'P0" in reduced.sql  # the statement sent carries the keys ...
    assert fed.audit is not None
    (record,) = fed.audit.records()
    (income,) = [f for f in record["fragments"] if f["department"] == "hmrc"]
    assert f"IN (<{reduced.reduced_keys:,} keys>)" in income["sql"] and "'P0" not in income["sql"]  # ... the audit not
    assert "'P0" not in (tmp_path / "audit.jsonl").read_text()
    fed.close()


def test_a_result_dropped_unread_gets_its_end_record(demo: Path, tmp_path: Path) -> None:
    import gc
    import time

    fed = fedquery.connect(_config(demo, tmp_path / "audit.jsonl"))
    fed.sql("SELECT * FROM hmrc.income")  # never read, never closed
    gc.collect()
    assert fed.audit is not None
    deadline = time.monotonic() + 10
    while fed.audit.records()[0]["outcome"] == "unfinished" and time.monotonic() < deadline:
        time.sleep(0.05)
    (record,) = fed.audit.records()
    assert (record["outcome"], record["read_to_end"], record["rows"]) == ("ok", False, 0)
    reader = fed.sql("SELECT count(*) FROM dwp.claims").reader()  # the Result goes, its reader stays
    gc.collect()
    assert reader.read_all().num_rows == 1
    fed.audit.verify()
    fed.close()

"""The pushdown tables: PostgreSQL, MySQL/MariaDB, SQLite, DuckDB files."""

from __future__ import annotations

from connectors.pushdown.entries import Entry, NotPushable, PushdownTable, Pushed, Unless
from connectors.pushdown.rules import (
    astronomical_year,
    binary_text_comparison,
    boolean_column,
    decimal_arithmetic,
    distinct_of_several,
    divisor_may_be_zero,
    enum_extreme,
    enum_pair,
    extract_part,
    float_arithmetic,
    float_operand,
    float_to_text,
    grouping_sets,
    ieee_division,
    inexact_equality,
    like_pattern_unsafe,
    non_byte_order,
    not_a_date_literal,
    not_a_text_literal,
    pg_text_operands,
    pseudonym_unsafe,
    real_operand,
    substring_bound_unsafe,
    temporal_arithmetic,
    temporal_column,
    temporal_operand,
    temporal_to_text,
    text_key_not_binary,
)

_FLOAT_OVERFLOW = Unless(
    float_arithmetic,
    "floating-point arithmetic past the double range is an error in {dialect} (DuckDB: ±Infinity)",
    trap="floating-point overflow",
)
_INT = "arithmetic in DuckDB's result type (the fragment's result is cast to it); integer overflow is an error in both"
_SAME = "the same meaning in both"
_NULLS = "NULL in, NULL out"
_TRAPS = "tests/test_dialect_traps.py"


class SqlPushdown(PushdownTable):
    """What PostgreSQL and MySQL/MariaDB share: the logic, comparisons and aggregates of standard SQL."""

    And = Pushed("three-valued logic", examples=("i > 0 AND t = 'a'",))
    Or = Pushed("three-valued logic", examples=("i > 0 OR t IS NULL",))
    Not = Pushed("three-valued logic", examples=("NOT (i > 0)",))
    Paren = Pushed("grouping", examples=("(i + 1) * 2",))
    DPipe = Pushed(
        "text concatenation (MySQL: CONCAT); NULL in, NULL out; integers and decimals spelt as DuckDB does",
        unless=(
            Unless(float_operand, "a floating-point number turned into text is spelt differently by {dialect}"),
            Unless(temporal_operand, "a date turned into text is spelt differently by {dialect} (BC, far-future)"),
        ),
        examples=("t || 'x'", "t || t", "'n' || i", "'n' || n"),
    )
    Neg = Pushed(_INT, examples=("-i", "-n", "-f"))
    Add = Pushed(_INT, unless=(_FLOAT_OVERFLOW,), examples=("i + 1", "n + 1.5", "b + i"))
    Sub = Pushed(_INT, unless=(_FLOAT_OVERFLOW,), examples=("i - 1", "n - 0.25", "b - 1"))
    Mul = Pushed(_INT, unless=(_FLOAT_OVERFLOW,), examples=("i * 2", "n * 3", "b * a"))
    Is = Pushed("IS NULL", examples=("i IS NULL", "t IS NOT NULL"))
    Distinct = Pushed("DISTINCT inside an aggregate", examples=("SELECT count(DISTINCT i) FROM {t}",))
    Coalesce = Pushed(_NULLS, examples=("coalesce(i, -1)", "coalesce(t, 'none')"))
    Nullif = Pushed(_SAME, examples=("nullif(i, 0)", "nullif(t, '')"))
    Case = Pushed(_SAME, examples=("CASE WHEN i > 0 THEN 'pos' WHEN i < 0 THEN 'neg' ELSE 'zero' END",))
    If = Pushed("a CASE with one branch", examples=("CASE WHEN t = '' THEN 1 ELSE 0 END",))
    Abs = Pushed("absolute value; abs(minimum integer) is an error in both", examples=("abs(n)", "abs(f)", "abs(b)"))
    Floor = Pushed(_SAME, examples=("floor(n)", "floor(f)"))
    Ceil = Pushed(_SAME, examples=("ceil(n)", "ceil(f)"))
    Count = Pushed(
        "COUNT",
        unless=(
            Unless(distinct_of_several, "COUNT(DISTINCT over several columns) counts NULL-holding rows differently in "
                   "{dialect}", trap="COUNT(DISTINCT) of several columns"),
        ),
        examples=("SELECT count(*), count(i), count(t), count(d) FROM {t}", "SELECT count(DISTINCT n) FROM {t}"),
    )  # fmt: skip
    Sum = Pushed("SUM; the result is cast to DuckDB's type", examples=("SELECT sum(i), sum(b), sum(n) FROM {t}",))
    Min = Pushed("MIN", examples=("SELECT min(i), min(n), min(d) FROM {t}",))
    Max = Pushed("MAX", examples=("SELECT max(i), max(n), max(d) FROM {t}",))
    Rollup = NotPushable("ROLLUP/CUBE/GROUPING SETS are kept local for {dialect}", trap="GROUP BY ROLLUP")
    Cube = NotPushable("ROLLUP/CUBE/GROUPING SETS are kept local for {dialect}")
    GroupingSets = NotPushable("ROLLUP/CUBE/GROUPING SETS are kept local for {dialect}")
    Filter = NotPushable("aggregate FILTER clauses are kept local for {dialect}", trap="aggregate FILTER")
    Upper = NotPushable("UPPER of non-ASCII text follows {dialect}'s locale (DuckDB: Unicode rules)",
                        trap="upper/lower of non-ASCII text")  # fmt: skip
    Lower = NotPushable("LOWER of non-ASCII text follows {dialect}'s locale (DuckDB: Unicode rules)",
                        trap="upper/lower of non-ASCII text")  # fmt: skip
    Substring = Pushed(
        "SUBSTRING counted in characters",
        unless=(Unless(substring_bound_unsafe, "SUBSTRING with a start or length that may be zero or negative differs "
                       "in {dialect}", trap="SUBSTRING with a negative start"),),
        examples=("substring(t, 1, 2)", "substring(t, 2)"),
    )  # fmt: skip
    Escape = Pushed("LIKE … ESCAPE names its escape character", examples=("t LIKE 'a!%%' ESCAPE '!'",))


_REAL = Unless(real_operand, "a REAL/FLOAT value compared in {dialect} is widened to double there, in DuckDB the "
               "other way round")  # fmt: skip
_LIKE = Unless(like_pattern_unsafe, "LIKE treats \\ as an escape character in {dialect}, DuckDB does not",
               trap="LIKE: backslash is no escape character")  # fmt: skip
_PG_FUZZY = Unless(inexact_equality, "{detail} has a nondeterministic collation in PostgreSQL ('A' may equal 'a')")
_PG_ORDER = Unless(non_byte_order, "ordering on {detail} uses a non-byte-order collation in PostgreSQL")
_PG_PARTS = {"YEAR", "MONTH", "DAY", "QUARTER", "HOUR", "MINUTE"}
_TEXT_CASTS = ("VARCHAR", "TEXT", "CHAR", "NCHAR", "NVARCHAR")


def _cast_entries(every: tuple[Unless, ...] = (), **unless: tuple[Unless, ...]) -> dict[str, Entry]:
    """The plain scalar targets every SQL source means the same way by; anything else (PostgreSQL's
    ``regclass``, user-defined types) looks names up in the source's own catalogs: not listed."""
    names = ("BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL", *_TEXT_CASTS, "DATE",
             "TIMESTAMP")  # fmt: skip
    return {name: Pushed(f"CAST to {name}", unless=every + unless.get(name, ())) for name in names}


_FLOAT_TEXT = Unless(float_to_text, "a floating-point number cast to text is spelt differently by {dialect}",
                     trap="a double cast to text")  # fmt: skip


_DATE_TEXT = Unless(temporal_to_text, "a date or timestamp cast to text is spelt differently by {dialect} (BC and "
                    "far-future years)")  # fmt: skip


class PostgresPushdown(SqlPushdown):
    """PostgreSQL (sessions in UTC, ISO dates, full float precision: see connectors.postgres)."""

    dialect = "PostgreSQL"
    casts = _cast_entries(**{name: (_FLOAT_TEXT, _DATE_TEXT) for name in _TEXT_CASTS})
    Cast = Pushed(
        "CAST to a plain scalar type (the targets below)",
        examples=("CAST(i AS BIGINT)", "CAST(n AS DOUBLE)", "CAST(i AS VARCHAR)", "CAST(n AS INT)", "CAST(f AS INT)"),
    )
    TryCast = NotPushable("TRY_CAST is not sent to this source (it would fail where DuckDB gives NULL)")
    EQ = Pushed(
        "equality",
        render=pg_text_operands,
        unless=(_REAL, _PG_FUZZY),
        examples=("i = 0", "t = 'abc'", "d = DATE '2020-02-29'"),
    )
    NEQ = Pushed(
        "inequality", render=pg_text_operands, unless=(_REAL, _PG_FUZZY), examples=("i <> 0", "t <> ''", "f <> 1")
    )
    GT = Pushed(
        "ordering",
        render=pg_text_operands,
        unless=(_REAL, _PG_ORDER),
        examples=("i > 0", "t > 'abc'", "d > DATE '2000-01-01'"),
    )
    GTE = Pushed(
        "ordering", render=pg_text_operands, unless=(_REAL, _PG_ORDER), examples=("i >= 0", "t >= 'b'", "n >= 0")
    )
    LT = Pushed(
        "ordering",
        render=pg_text_operands,
        unless=(_REAL, _PG_ORDER),
        examples=("i < 0", "t < 'b'", "f < 0", "d < DATE '0001-01-01'"),
    )
    LTE = Pushed(
        "ordering", render=pg_text_operands, unless=(_REAL, _PG_ORDER), examples=("i <= 0", "t <= 'abc'", "n <= 0")
    )
    Between = Pushed(
        "ordering",
        render=pg_text_operands,
        unless=(_REAL, _PG_ORDER),
        examples=("i BETWEEN -1 AND 1", "t BETWEEN 'a' AND 'b'"),
    )
    In = Pushed(
        "equality with each item",
        render=pg_text_operands,
        unless=(_REAL, _PG_FUZZY),
        examples=("i IN (0, 1)", "t IN ('', 'abc')"),
    )
    Like = Pushed(
        "LIKE without backslashes (no escape character in DuckDB)",
        render=pg_text_operands,
        unless=(_LIKE, _PG_FUZZY),
        examples=("t LIKE 'a%'", "t LIKE '%c_'", "t LIKE ''"),
    )
    ILike = NotPushable(
        "ILIKE folds non-ASCII case by PostgreSQL's ctype (locale-dependent), not proven equal to DuckDB's rules"
    )
    Div = Pushed("division as DuckDB's: floating point for integers (sqlglot's typed division); a zero "
                 "divisor gives ±Infinity or NaN as in DuckDB, not an error", render=ieee_division,
                 examples=("i / 2", "n / 4", "f / 2", "i / a", "n / a", "f / a"))  # fmt: skip
    Mod = Pushed("% of integers or decimals (a zero divisor is an error in both)", unless=(
        Unless(float_operand, "% of floating-point numbers differs in {dialect}", trap="% of a double"),),
        examples=("i % 7", "n % 2", "-7 % 2"))  # fmt: skip
    Length = Pushed("length in characters", examples=("length(t)",))
    StrPosition = Pushed("position in characters, 1 for an empty needle", examples=("strpos(t, 'b')", "strpos(t, '')"))
    Greatest = Pushed("GREATEST ignoring NULLs", examples=("greatest(i, 0)", "greatest(n, 1.5)"))
    Least = Pushed("LEAST ignoring NULLs", examples=("least(i, 0)", "least(n, 1.5)"))
    Sqrt = NotPushable(
        "SQRT of a negative number is an error in PostgreSQL (DuckDB: NaN)", trap="SQRT and LN of negative numbers"
    )
    Exp = NotPushable("EXP past the double range is an error in PostgreSQL (DuckDB: Infinity)")
    Ln = NotPushable(
        "LN of zero or a negative number is an error in PostgreSQL (DuckDB: -Infinity or NaN)",
        trap="SQRT and LN of negative numbers",
    )
    Round = NotPushable(
        "ROUND of floating-point ties differs in PostgreSQL (to even) from DuckDB (away from zero)",
        trap="ROUND of floating-point ties",
    )
    Avg = Pushed("AVG; the result is cast to DuckDB's DOUBLE", examples=("SELECT avg(i), avg(n), avg(b) FROM {t}",))
    Extract = Pushed(
        "EXTRACT of calendar and clock fields; years counted with a year 0, as DuckDB does (44 BC is -43)",
        unless=(Unless(extract_part(_PG_PARTS), "EXTRACT({detail}) differs between PostgreSQL and DuckDB",
                       trap="EXTRACT day of week"),),
        render=astronomical_year,
        examples=("extract(year FROM d)", "extract(month FROM d)", "extract(day FROM d)", "extract(quarter FROM d)"),
    )  # fmt: skip
    Group = Pushed("GROUP BY", unless=(Unless(grouping_sets, "ROLLUP/CUBE/GROUPING SETS are kept local for "
                                              "{dialect}"), _PG_FUZZY),
                   examples=("SELECT a, count(*), sum(i) FROM {t} GROUP BY a", "SELECT t, count(*) FROM {t} GROUP BY t",
                             "SELECT f, count(*) FROM {t} GROUP BY f"))  # fmt: skip
    Select = Pushed(
        "SELECT (DISTINCT)",
        unless=(_PG_FUZZY,),
        examples=("SELECT DISTINCT a FROM {t}", "SELECT DISTINCT t FROM {t}", "SELECT DISTINCT f FROM {t}"),
    )
    Distinct = Pushed("DISTINCT inside an aggregate", unless=(_PG_FUZZY,), examples=SqlPushdown.Distinct.examples)
    Window = Pushed(
        "aggregates listed here over a window",
        unless=(_PG_FUZZY,),
        examples=("SELECT id, sum(i) OVER (PARTITION BY a) FROM {t}",),
    )
    Union = Pushed(
        "set operations",
        unless=(_PG_FUZZY,),
        examples=("SELECT a FROM {t} UNION SELECT i FROM {t}", "SELECT t FROM {t} UNION SELECT 'abc'"),
    )
    Intersect = Pushed(
        "set operations", unless=(_PG_FUZZY,), examples=("SELECT a FROM {t} INTERSECT SELECT i FROM {t}",)
    )
    Except = Pushed("set operations", unless=(_PG_FUZZY,), examples=("SELECT a FROM {t} EXCEPT SELECT i FROM {t}",))
    Ordered = Pushed(
        "ORDER BY, with NULLS FIRST/LAST said explicitly",
        unless=(_PG_ORDER,),
        examples=(
            "SELECT id, i FROM {t} ORDER BY i DESC, id",
            "SELECT id FROM {t} ORDER BY t, id",
            "SELECT id, f FROM {t} ORDER BY f, id LIMIT 6",
            "SELECT id FROM {t} ORDER BY d DESC, id",
        ),
    )
    Min = Pushed("MIN", unless=(_PG_ORDER,), examples=SqlPushdown.Min.examples + ("SELECT min(t) FROM {t}",))
    Max = Pushed("MAX", unless=(_PG_ORDER,), examples=SqlPushdown.Max.examples + ("SELECT max(t) FROM {t}",))
    Pseudonymise = Pushed("HMAC-SHA-256 composed from the server's SHA-256, over integers and text only",
                          unless=(Unless(pseudonym_unsafe, "pseudonymise over a value other than an integer or text "
                                         "column is computed by fedquery's DuckDB"),))  # fmt: skip


_MY_BOOL = Unless(boolean_column, "TINYINT(1) holds any small integer in MySQL (= TRUE misses 2); DuckDB reads it as "
                  "BOOLEAN")  # fmt: skip
_MY_TEXT = Unless(text_key_not_binary, "{detail} on text would follow MySQL's case-insensitive collation",
                  trap="collation: GROUP BY")  # fmt: skip
_MY_DATE_ADD = Unless(
    temporal_arithmetic, "MySQL adds a number to a date ({detail}) as a YYYYMMDD number", trap="date plus a number"
)
_MY_DATE_SUB = Unless(
    temporal_arithmetic, "MySQL subtracts dates ({detail}) as YYYYMMDD numbers", trap="date minus a date"
)
_MY_ENUM_EXTREME = Unless(enum_extreme, "MIN/MAX of a MySQL ENUM ({detail}) compare its labels as text there, by "
                          "declaration order in DuckDB")  # fmt: skip
_MY_ENUM_ORDER = Unless(enum_pair, "ordering of MySQL ENUMs against each other ({detail}) compares their labels as "
                        "text there, by declaration order in DuckDB")  # fmt: skip
_MY_COMPARE = "compared byte by byte (CAST(x AS BINARY)) where both sides are text"


class MySQLPushdown(SqlPushdown):
    """MySQL and MariaDB (sessions in UTC, read-only: see connectors.mysql)."""

    dialect = "MySQL"
    casts = _cast_entries(every=(Unless(not_a_text_literal, "CAST ({detail}) follows MySQL's conversion rules"),))
    Cast = Pushed("only text literals (DATE '2020-01-01'); other casts follow MySQL's conversion rules",
                  examples=("d >= DATE '2020-01-01'",))  # fmt: skip
    TryCast = NotPushable("TRY_CAST is not sent to this source (it would fail where DuckDB gives NULL)")
    EQ = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL), render=binary_text_comparison,
                examples=("i = 0", "t = 'abc'", "t = 'abc '", "f = 0", "d = DATE '2020-02-29'"))  # fmt: skip
    NEQ = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL), render=binary_text_comparison, examples=("i <> 0", "t <> ''"))
    GT = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER), render=binary_text_comparison,
                examples=("i > 0", "t > 'abc'", "f > 0", "d > DATE '2000-01-01'"))  # fmt: skip
    GTE = Pushed(
        _MY_COMPARE,
        unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER),
        render=binary_text_comparison,
        examples=("i >= 0", "t >= 'b'"),
    )
    LT = Pushed(
        _MY_COMPARE,
        unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER),
        render=binary_text_comparison,
        examples=("i < 0", "t < 'b'"),
    )
    LTE = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER), render=binary_text_comparison,
                 examples=("i <= 0", "t <= 'abc'", "n <= 0"))  # fmt: skip
    Between = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER), render=binary_text_comparison,
                     examples=("i BETWEEN -1 AND 1", "t BETWEEN 'a' AND 'b'"))  # fmt: skip
    In = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL), render=binary_text_comparison,
                examples=("i IN (0, 1)", "t IN ('', 'abc', 'ABC')"))  # fmt: skip
    Like = Pushed("LIKE without backslashes, on the bytes (CAST(x AS BINARY): case-sensitive)", unless=(_LIKE,),
                  render=binary_text_comparison, examples=("t LIKE 'a%'", "t LIKE '%c_'", "t LIKE ''"))  # fmt: skip
    Is = Pushed("IS NULL", unless=(Unless(temporal_column, "IS NULL on a MySQL date matches its zero dates "
                                          "('0000-00-00'); DuckDB reads those as NULL"),),
                examples=("i IS NULL", "t IS NOT NULL"))  # fmt: skip
    Add = Pushed(_INT, unless=(_FLOAT_OVERFLOW, _MY_DATE_ADD), examples=SqlPushdown.Add.examples)
    Sub = Pushed(_INT, unless=(_FLOAT_OVERFLOW, _MY_DATE_SUB), examples=SqlPushdown.Sub.examples)
    Div = NotPushable("/ in MySQL returns DECIMAL with a fixed extra scale, not DuckDB's DOUBLE",
                      trap="scale of DECIMAL division")  # fmt: skip
    Avg = NotPushable("AVG in MySQL returns DECIMAL with 4 extra digits of scale, not DuckDB's DOUBLE",
                      trap="AVG of DECIMAL")  # fmt: skip
    Mod = Pushed("% of integers or decimals by a non-zero literal", unless=(
        Unless(float_operand, "% of floating-point numbers differs in {dialect}", trap="% of a double"),
        Unless(divisor_may_be_zero, "% by zero gives NULL in MySQL; DuckDB raises an error")),
        examples=("i % 7", "n % 2"))  # fmt: skip
    Extract = Pushed("EXTRACT of calendar and clock fields (MySQL dates have no BC years)",
                     unless=(Unless(extract_part(_PG_PARTS), "EXTRACT({detail}) differs between MySQL and DuckDB",
                                    trap="EXTRACT day of week"),),
                     examples=("extract(year FROM d)", "extract(month FROM d)", "extract(quarter FROM d)"))  # fmt: skip
    Group = Pushed(
        "GROUP BY on numbers, dates and binary-collated text",
        unless=(
            Unless(grouping_sets, "ROLLUP/CUBE/GROUPING SETS are kept local for {dialect}", trap="GROUP BY ROLLUP"),
            _MY_TEXT,
        ),
        examples=("SELECT a, count(*), sum(i) FROM {t} GROUP BY a", "SELECT d, count(*) FROM {t} GROUP BY d"),
    )
    # fmt: skip
    Ordered = Pushed(
        "ORDER BY on numbers, dates and binary text, NULLs placed as in DuckDB",
        unless=(_MY_TEXT,),
        examples=("SELECT id, i FROM {t} ORDER BY i DESC, id", "SELECT id FROM {t} ORDER BY d, id LIMIT 4"),
    )
    Select = Pushed(
        "SELECT DISTINCT on numbers, dates and binary-collated text",
        unless=(_MY_TEXT,),
        examples=("SELECT DISTINCT a FROM {t}", "SELECT DISTINCT d FROM {t}"),
    )
    Union = Pushed(
        "set operations on numbers, dates and binary-collated text",
        unless=(_MY_TEXT,),
        examples=("SELECT a FROM {t} UNION SELECT i FROM {t}",),
    )
    Intersect = Pushed(
        "set operations on numbers, dates and binary-collated text",
        unless=(_MY_TEXT,),
        examples=("SELECT a FROM {t} INTERSECT SELECT i FROM {t}",),
    )
    Except = Pushed(
        "set operations on numbers, dates and binary-collated text",
        unless=(_MY_TEXT,),
        examples=("SELECT a FROM {t} EXCEPT SELECT i FROM {t}",),
    )
    Min = Pushed(
        "MIN on numbers, dates, binary text", unless=(_MY_TEXT, _MY_ENUM_EXTREME), examples=SqlPushdown.Min.examples
    )
    Max = Pushed(
        "MAX on numbers, dates, binary text", unless=(_MY_TEXT, _MY_ENUM_EXTREME), examples=SqlPushdown.Max.examples
    )
    Count = Pushed("COUNT", unless=(*SqlPushdown.Count.unless, _MY_TEXT), examples=SqlPushdown.Count.examples)
    Pseudonymise = PostgresPushdown.Pseudonymise


_SQLITE_DECIMAL = Unless(decimal_arithmetic, "{detail} is DECIMAL arithmetic, which SQLite does in binary floating "
                         "point")  # fmt: skip


class SQLitePushdown(PushdownTable):
    """SQLite: no DATE type, binary floating point for DECIMAL, case-insensitive LIKE."""

    dialect = "SQLite"
    casts = {"DATE": Pushed("a text literal as a DATE (DATE '2020-01-01'); stored as ISO text", unless=(
        Unless(not_a_date_literal, "CAST ({detail}) has no exact SQLite equivalent"),))}  # fmt: skip
    Cast = Pushed("only date literals")
    And = SqlPushdown.And
    Or = SqlPushdown.Or
    Not = SqlPushdown.Not
    Paren = SqlPushdown.Paren
    Is = SqlPushdown.Is
    Distinct = SqlPushdown.Distinct
    EQ = Pushed("equality")
    NEQ = Pushed("inequality")
    GT = Pushed("ordering (text in byte order: BINARY collation)")
    GTE = Pushed("ordering")
    LT = Pushed("ordering")
    LTE = Pushed("ordering")
    Between = Pushed("ordering")
    In = Pushed("equality with each item")
    Add = Pushed("arithmetic on integers and floats", unless=(_SQLITE_DECIMAL,))
    Sub = Pushed("arithmetic on integers and floats", unless=(_SQLITE_DECIMAL,))
    Mul = Pushed("arithmetic on integers and floats", unless=(_SQLITE_DECIMAL,))
    Neg = Pushed("arithmetic on integers and floats", unless=(_SQLITE_DECIMAL,))
    Div = NotPushable("/ of integers is integer division in SQLite")
    Count = Pushed("COUNT")
    Sum = Pushed("SUM of integers and floats", unless=(_SQLITE_DECIMAL,))
    Avg = Pushed("AVG of integers and floats", unless=(_SQLITE_DECIMAL,))
    Min = Pushed("MIN")
    Max = Pushed("MAX")
    Case = SqlPushdown.Case
    If = SqlPushdown.If
    Coalesce = SqlPushdown.Coalesce
    Abs = Pushed("absolute value")
    Like = NotPushable("LIKE is case-insensitive in SQLite")
    Extract = NotPushable("SQLite has no DATE type: EXTRACT has no exact equivalent")


class DuckDBPushdown(PushdownTable):
    """A DuckDB file: the same engine answers, so everything is pushed (casts to plain types only)."""

    dialect = "DuckDB"
    everything = True


TABLES: dict[str, type[PushdownTable]] = {
    "postgres": PostgresPushdown,
    "mysql": MySQLPushdown,
    "sqlite": SQLitePushdown,
    "duckdb": DuckDBPushdown,
}

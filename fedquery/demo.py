"""The built-in demo: a small, deterministic federation modelled on the pandemic's questions.

* ``dhsc.ppe_stock``   PPE stock reported by each hospital trust: one CSV per trust,
  hive-partitioned by NHS region (``ppe_stock/region=London/RJ1.csv``).
* ``dhsc.ppe_orders``  the health department's central PPE orders (SQLite).
* ``dwp.claims``       benefit claims (Parquet).
* ``dfe.fsm_eligibility`` free-school-meal eligibility by pupil (CSV).
* ``hmrc.income``      annual income records (a DuckDB file).

People are linked across departments by a pseudonymous ``person_id``.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fedquery.errors import OutputError

REGIONS = [
    "London",
    "North East and Yorkshire",
    "North West",
    "Midlands",
    "East of England",
    "South East",
    "South West",
]
ITEMS = ["FFP3 respirator", "Fluid-resistant mask", "Gown", "Gloves (pair)", "Eye protection"]
BENEFITS = ["Universal Credit", "Pension Credit", "Employment and Support Allowance", "Carer's Allowance"]
SEED = 2020
PEOPLE = 6000

CONFIG = """\
# The fedquery demo federation (written by `fedquery demo`).
# Each department keeps its data where and how it likes; fedquery queries it in place.
# Every dataset carries the metadata a government inventory needs (`fedquery inventory check`).

[settings]
memory_limit = "1GB"

[departments.dhsc]
title = "Department of Health and Social Care"
contact = "ppe-data@dhsc.example"
licence = "OGL-UK-3.0"
classification = "OFFICIAL"
rules = "rules/dhsc.toml"            # who may see what (see the README: Governed sharing)

[departments.dhsc.sources.ppe_stock]
kind = "csv"
url = "dhsc/ppe_stock"            # one CSV per trust, hive-partitioned by region

[departments.dhsc.sources.ppe_stock.tables.ppe_stock]
path = "**/*.csv"
columns = { as_of = "date", stock_units = "bigint", daily_use = "bigint" }
title = "PPE stock held by NHS trusts"
description = "Daily stock of personal protective equipment reported by each hospital trust, by item."
keywords = ["PPE", "NHS trusts", "stock", "pandemic"]
update_frequency = "daily"
temporal_coverage = "2020-04-01/2020-04-14"
primary_key = ["trust_code", "item", "as_of"]
fields.trust_code = { description = "NHS trust organisation code" }
fields.stock_units = { description = "Units in stock at the end of the day" }
fields.daily_use = { description = "Average units used per day over the last week" }
fields.region = { description = "NHS England region (hive partition)" }

[departments.dhsc.sources.orders]
kind = "sqlite"
path = "dhsc/ppe_orders.db"

[departments.dhsc.sources.orders.tables.ppe_orders]
title = "Central PPE orders"
description = "Orders for PPE placed centrally on behalf of trusts, with delivery dates where delivered."
keywords = ["PPE", "procurement", "orders"]
update_frequency = "daily"
temporal_coverage = "2020-04-01/2020-04-14"
fields.delivered_on = { description = "Date delivered; empty while the order is outstanding" }

[departments.dwp]
title = "Department for Work and Pensions"
contact = "data@dwp.example"
licence = "OGL-UK-3.0"
classification = "OFFICIAL-SENSITIVE"
rules = "rules/dwp.toml"            # who may see what (see the README: Governed sharing)

# Safe outputs: what the cross-department "support" project takes away is counts of at least 10, rounded to 5.
[departments.dwp.output]
min_cell_count = 10
rounding = 5
purpose = "support"

[departments.dwp.sources.claims]
kind = "parquet"
url = "dwp/claims.parquet"

[departments.dwp.sources.claims.tables.claims]
title = "Benefit claims"
description = "One row per benefit claim: the benefit, the claimant's region, start date and weekly amount."
keywords = ["benefits", "Universal Credit", "claims", "welfare"]
update_frequency = "monthly"
temporal_coverage = "2019-01-01/2020-05-15"
primary_key = ["claim_id"]
fields.weekly_amount = { description = "Weekly award in pounds" }

[departments.dwp.sources.claims.tables.claims.fields.person_id]
description = "Pseudonymised National Insurance number: the person key shared across departments"
keywords = ["NINO", "national insurance number"]

[departments.dfe]
title = "Department for Education"
contact = "data@dfe.example"
licence = "OGL-UK-3.0"
classification = "OFFICIAL-SENSITIVE"
rules = "rules/dfe.toml"            # who may see what (see the README: Governed sharing)

# Safe outputs: what the cross-department "support" project takes away is counts of at least 10, rounded to 5.
[departments.dfe.output]
min_cell_count = 10
rounding = 5
purpose = "support"

[departments.dfe.sources.fsm]
kind = "csv"
url = "dfe"

[departments.dfe.sources.fsm.tables.fsm_eligibility]
path = "fsm_eligibility.csv"
columns = { eligible_from = "date" }
title = "Free school meals eligibility"
description = "Pupils and whether they are eligible for free school meals, with the parent's person key."
keywords = ["education", "free school meals", "pupils"]
update_frequency = "termly"
temporal_coverage = "2019-09-01/2020-03-31"
primary_key = ["pupil_id"]

[departments.dfe.sources.fsm.tables.fsm_eligibility.fields.parent_person_id]
description = "Parent's pseudonymised National Insurance number (person key)"
keywords = ["NINO", "national insurance number"]

[departments.hmrc]
title = "HM Revenue and Customs"
contact = "data@hmrc.example"
licence = "OGL-UK-3.0"
classification = "OFFICIAL-SENSITIVE"
rules = "rules/hmrc.toml"            # who may see what (see the README: Governed sharing)

# Safe outputs: what the cross-department "support" project takes away is counts of at least 10, rounded to 5.
[departments.hmrc.output]
min_cell_count = 10
rounding = 5
purpose = "support"

[departments.hmrc.sources.income]
kind = "duckdb"
path = "hmrc/income.duckdb"

[departments.hmrc.sources.income.tables.income]
title = "Annual employment income"
description = "Employment income per person and tax year, from PAYE returns."
keywords = ["income", "tax", "PAYE"]
update_frequency = "annual"
temporal_coverage = "2018-04-06/2020-04-05"
primary_key = ["person_id", "tax_year"]

[departments.hmrc.sources.income.tables.income.fields.person_id]
description = "Pseudonymised National Insurance number (person key)"
keywords = ["NINO", "national insurance number"]
"""

#: The pseudonym every department's "support" rule gives a person key: the same value in each
#: department, so the support project can link them, and not the key itself. A salted SHA-256 works
#: today in every source; ``pseudonymise(person_id, 'support')`` (HMAC, keyed per project) replaces it.
_SUPPORT_TOKEN = "left(sha256('demo-support-project:' || {column}), 16)"
#: Analysts of other departments may not read a department's person-level tables.
_OTHERS_DENIED = """
[[tables]]                       # analysts of other departments: nothing here
group = "(dhsc|dwp|dfe|hmrc)_analysts"
privileges = []
"""
#: The last rule of each demo file: any other principal (the demo's default user) sees the tables as
#: stored, so the walkthrough and the README's first commands run as whoever you are. A real
#: department leaves it out: then no match means no access.
_DEMO_DEFAULT = """
[[tables]]                       # the demo's default principal: everything, as stored
user = ".*"
privileges = ["SELECT"]
"""
RULES: dict[str, str] = {
    "dhsc": """# Access rules of the Department of Health and Social Care (first match wins; no match denies).
[keys]
send = true                      # our join keys may be sent to other departments' sources
receive = true                   # other departments' keys may be sent to ours

[[tables]]                       # health analysts: PPE stock and orders
group = "dhsc_analysts"
table = "ppe_stock|ppe_orders"
privileges = ["SELECT"]

[[tables]]                       # everyone else's analysts: stock by trust, not the trusts' names
group = "(dwp|dfe|hmrc)_analysts"
table = "ppe_stock"
columns = [{ name = "trust_name", allow = false }]
""" + _OTHERS_DENIED + _DEMO_DEFAULT,
    "dwp": f"""# Access rules of the Department for Work and Pensions.
[[tables]]                       # work-and-pensions analysts: claims, the person key masked
group = "dwp_analysts"
table = "claims"
columns = [{{ name = "person_id", mask = "'*****' || right(person_id, 2)" }}]

[[tables]]                       # the London office sees London's claims only
group = "dwp_london"
table = "claims"
columns = [{{ name = "person_id", mask = "'*****' || right(person_id, 2)" }}]
filter = "region = 'London'"

[[tables]]                       # the cross-department support project links on a pseudonym
purpose = "support"
table = "claims"
columns = [{{ name = "person_id", mask = "{_SUPPORT_TOKEN.format(column='person_id')}" }}]
""" + _OTHERS_DENIED + _DEMO_DEFAULT,
    "dfe": f"""# Access rules of the Department for Education.
[[tables]]
group = "dfe_analysts"
table = "fsm_eligibility"
columns = [{{ name = "parent_person_id", mask = "'*****' || right(parent_person_id, 2)" }}]

[[tables]]                       # the support project: eligibility linked by the parent's pseudonym
purpose = "support"
table = "fsm_eligibility"
columns = [
  {{ name = "parent_person_id", mask = "{_SUPPORT_TOKEN.format(column='parent_person_id')}" }},
  {{ name = "pupil_id", allow = false }},
]
""" + _OTHERS_DENIED + _DEMO_DEFAULT,
    "hmrc": f"""# Access rules of HM Revenue and Customs.
[[tables]]
group = "hmrc_analysts"
table = "income"

[[tables]]                       # the support project: income by pseudonym, not who is self-employed
purpose = "support"
table = "income"
columns = [
  {{ name = "person_id", mask = "{_SUPPORT_TOKEN.format(column='person_id')}" }},
  {{ name = "self_employed", allow = false }},
]
""" + _OTHERS_DENIED + _DEMO_DEFAULT,
}

#: ``fedquery demo``'s governed examples: (title, principal, SQL), run after the three questions.
GOVERNED: list[tuple[str, dict[str, object], str]] = [
    (
        "Allowed: a health analyst reads PPE stock by trust",
        {"user": "hana", "groups": ["dhsc_analysts"]},
        "SELECT trust_code, item, stock_units FROM dhsc.ppe_stock WHERE as_of = DATE '2020-04-14' "
        "ORDER BY stock_units LIMIT 3",
    ),
    (
        "Masked: a work-and-pensions analyst reads claims, the person key masked",
        {"user": "wendy", "groups": ["dwp_analysts"]},
        "SELECT claim_id, person_id, benefit, region FROM dwp.claims ORDER BY claim_id LIMIT 3",
    ),
    (
        "Denied: a health analyst asks for benefit claims",
        {"user": "hana", "groups": ["dhsc_analysts"]},
        "SELECT count(*) FROM dwp.claims",
    ),
]

QUERIES: list[tuple[str, str]] = [
    (
        "Which trusts will run out of a PPE item within 7 days, counting what is still on order?",
        """
SELECT s.region, s.trust_code, s.item, s.stock_units, s.daily_use,
       coalesce(o.on_order, 0) AS on_order,
       round((s.stock_units + coalesce(o.on_order, 0)) / s.daily_use, 1) AS days_left
FROM dhsc.ppe_stock AS s
LEFT JOIN (SELECT trust_code, item, sum(quantity) AS on_order
           FROM dhsc.ppe_orders WHERE delivered_on IS NULL GROUP BY trust_code, item) AS o
  ON o.trust_code = s.trust_code AND o.item = s.item
WHERE s.as_of = DATE '2020-04-14' AND s.daily_use > 0
  AND (s.stock_units + coalesce(o.on_order, 0)) / s.daily_use < 7
ORDER BY days_left, s.trust_code, s.item
LIMIT 10""",
    ),
    (
        "Families on Universal Credit whose children get free school meals: how many, and what do they earn?",
        """
SELECT c.region, count(DISTINCT c.person_id) AS families,
       count(f.pupil_id) AS children_on_fsm,
       round(median(i.employment_income), 2) AS median_income
FROM dwp.claims AS c
JOIN dfe.fsm_eligibility AS f ON f.parent_person_id = c.person_id
JOIN hmrc.income AS i ON i.person_id = c.person_id AND i.tax_year = '2019-20'
WHERE c.benefit = 'Universal Credit' AND f.eligible
GROUP BY c.region
ORDER BY families DESC, c.region""",
    ),
    (
        "Who may be missing out: low income, children on free school meals, but no benefit claim?",
        """
SELECT i.region, count(*) AS people, round(avg(i.employment_income), 2) AS avg_income
FROM hmrc.income AS i
WHERE i.tax_year = '2019-20' AND i.employment_income < 16000
  AND EXISTS (SELECT 1 FROM dfe.fsm_eligibility f WHERE f.parent_person_id = i.person_id AND f.eligible)
  AND NOT EXISTS (SELECT 1 FROM dwp.claims c WHERE c.person_id = i.person_id)
GROUP BY i.region
ORDER BY people DESC, i.region""",
    ),
]


DASHBOARD = """\
# The demo's dashboard (`fedquery dashboard build pandemic`, built by `fedquery demo`).
[dashboard]
title = "Pandemic response: PPE and support need"
text = \"\"\"
PPE held by NHS trusts against what is still on order (DHSC), and the support families need, \
joining benefit claims (DWP), free school meals (DfE) and income (HMRC). Every panel says which \
departments' data it read and when.\"\"\"
refresh = "5m"

[[parameters]]
name = "region"
label = "NHS region"
query = "SELECT DISTINCT region FROM dhsc.ppe_stock ORDER BY region"
default = "London"

[[panels]]
title = "PPE in stock and on order, by trust"
text = "Units of all PPE items held on 14 April 2020, and units ordered centrally but not yet delivered."
sql = \"\"\"
WITH stock AS (
  SELECT trust_code, sum(stock_units) AS units FROM dhsc.ppe_stock
  WHERE as_of = DATE '2020-04-14' AND region = $region GROUP BY trust_code
)
SELECT s.trust_code, 'in stock' AS position, s.units FROM stock AS s
UNION ALL
SELECT o.trust_code, 'on order' AS position, sum(o.quantity) AS units
FROM dhsc.ppe_orders AS o JOIN stock AS s ON s.trust_code = o.trust_code
WHERE o.delivered_on IS NULL GROUP BY o.trust_code
ORDER BY trust_code, position\"\"\"
chart = { kind = "bar", x = "trust_code", y = "units", color = "position" }

[[panels]]
title = "Days of PPE left, by item"
text = "Stock divided by daily use, summed over the region's trusts."
sql = \"\"\"
SELECT as_of, item, round(sum(stock_units) / sum(daily_use), 1) AS days_left
FROM dhsc.ppe_stock WHERE region = $region GROUP BY as_of, item ORDER BY as_of, item\"\"\"
chart = { kind = "line", x = "as_of", y = "days_left", color = "item" }

[[panels]]
title = "Support need by region"
text = "Families on Universal Credit whose children get free school meals, and their median income in 2019-20."
sql = \"\"\"
SELECT c.region, count(DISTINCT c.person_id) AS families, count(f.pupil_id) AS children_on_fsm,
       round(median(i.employment_income), 2) AS median_income
FROM dwp.claims AS c
JOIN dfe.fsm_eligibility AS f ON f.parent_person_id = c.person_id
JOIN hmrc.income AS i ON i.person_id = c.person_id AND i.tax_year = '2019-20'
WHERE c.benefit = 'Universal Credit' AND f.eligible
GROUP BY c.region ORDER BY families DESC, c.region\"\"\"
chart = { kind = "bar", x = "region", y = "families" }

[[panels]]
title = "Who may be missing out"
text = "Low income and children on free school meals, but no benefit claim."
sql = \"\"\"
SELECT i.region, count(*) AS people, round(avg(i.employment_income), 2) AS avg_income
FROM hmrc.income AS i
WHERE i.tax_year = '2019-20' AND i.employment_income < 16000
  AND EXISTS (SELECT 1 FROM dfe.fsm_eligibility f WHERE f.parent_person_id = i.person_id AND f.eligible)
  AND NOT EXISTS (SELECT 1 FROM dwp.claims c WHERE c.person_id = i.person_id)
GROUP BY i.region ORDER BY people DESC, i.region\"\"\"
table = true
"""


#: the suppressed example: run for the "support" project, under the demo's output rules
SUPPRESSED = (
    "For the support project: children on free school meals by their parent's benefit and region",
    """
SELECT c.benefit, c.region, count(*) AS children_on_fsm
FROM dwp.claims AS c
JOIN dfe.fsm_eligibility AS f ON f.parent_person_id = c.person_id
WHERE c.benefit IN ('Carer''s Allowance', 'Universal Credit') AND f.eligible
GROUP BY c.benefit, c.region
ORDER BY c.benefit, c.region""",
)


def write_demo(directory: Path | str, *, force: bool = False) -> Path:
    """Write the demo data and its ``fedquery.toml`` into ``directory``; returns the config path.

    A ``fedquery.toml`` already there that is not the demo's own (an edited one) is kept:
    :class:`~fedquery.errors.OutputError` unless ``force``.
    """
    root = Path(directory)
    config = root / "fedquery.toml"
    if not force and config.exists():
        try:
            edited = config.read_text(encoding="utf-8") != CONFIG
        except (OSError, UnicodeDecodeError):
            edited = True
        if edited:
            raise OutputError(
                f"{str(config)!r} exists and is not the demo's own catalog (edited?): not overwritten; "
                "use --force to overwrite it, or another directory",
                path=str(config),
            )
    rng = random.Random(SEED)
    people = _people(rng)
    _write_ppe(root / "dhsc", rng)
    _write_claims(root / "dwp", people, rng)
    _write_fsm(root / "dfe", people, rng)
    _write_income(root / "hmrc", people, rng)
    (root / "rules").mkdir(parents=True, exist_ok=True)
    for department, text in RULES.items():
        (root / "rules" / f"{department}.toml").write_text(text, encoding="utf-8")
    config.write_text(CONFIG, encoding="utf-8")
    (root / "pandemic.dashboard.toml").write_text(DASHBOARD, encoding="utf-8")
    return config


def build_dashboard(config: Path, echo: Callable[[str], None] = print) -> Path | None:
    """Build the demo's pandemic dashboard to ``dashboard.html`` beside the catalog (None without fedquery[viz])."""
    from fedquery.errors import ConfigError
    from fedquery.federation import connect

    try:
        from fedquery.viz import dashboard, page

        with connect(config) as fed:
            run = dashboard.run(fed, dashboard.get(config, "pandemic"))
            html = page.render(run)
    except ConfigError as exc:
        if "fedquery[viz]" not in str(exc):
            raise
        echo(f"(Skipped the dashboard: {exc.message})")
        return None
    if run.errors:
        raise run.errors[0]
    target = config.parent / "dashboard.html"
    target.write_text(html, encoding="utf-8")
    echo("")
    echo(f"Built the pandemic dashboard: {target} ({len(run.panels)} panels, one self-contained page)")
    echo(f"  open it:  file://{target.resolve()}")
    echo(f"  serve it: fedquery -c {config} serve    (live, at http://127.0.0.1:8000/; needs fedquery[serve])")
    echo(f"  rebuild:  fedquery -c {config} dashboard build pandemic -o {target}")
    return target


def run_demo(config: Path, echo: Callable[[str], None] = print) -> None:
    from fedquery import formats
    from fedquery.federation import connect

    with connect(config) as fed:
        for title, sql in QUERIES:
            echo("")
            echo("=" * 78)
            echo(title)
            echo("=" * 78)
            echo(sql.strip())
            echo("")
            plan = fed.explain(sql)
            echo("-- What each department was sent --")
            for fragment in plan.fragments:
                echo(f"[{fragment.department}.{fragment.source} · {fragment.kind}] {fragment.sql}")
            echo(f"[local DuckDB] {plan.local_sql}")
            echo("")
            result = fed.sql(sql)
            echo(formats.render(result.arrow(), "table", max_rows=15).rstrip())
            moved = sum(s.rows for s in result.stats)
            echo(f"({moved} rows moved from {len(result.stats)} fragment(s))")
    _run_governed(config, echo)
    _run_suppressed(config, echo)


def _run_governed(config: Path, echo: Callable[[str], None]) -> None:
    """The access rules at work: one query allowed, one masked, one denied (``rules/*.toml``)."""
    from fedquery import formats
    from fedquery.errors import AccessDenied
    from fedquery.federation import connect

    for title, principal, sql in GOVERNED:
        echo("")
        echo("=" * 78)
        echo(title)
        echo("=" * 78)
        with connect(config, **principal) as fed:  # type: ignore[arg-type]
            echo(f"-- as {fed.principal}")
            echo(sql)
            echo("")
            try:
                plan = fed.explain(sql)
            except AccessDenied as exc:
                echo(f"refused: {exc}")
                continue
            for fragment in plan.fragments:
                echo(f"[{fragment.department}.{fragment.source} · {fragment.kind}] {fragment.sql}")
            for rule in plan.rules_applied:
                echo(f"[rules] {rule}")
            echo(formats.render(fed.sql(sql).arrow(), "table", max_rows=15).rstrip())


def _run_suppressed(config: Path, echo: Callable[[str], None]) -> None:
    """The same catalog for the "support" project: its output rules suppress small cells and round."""
    from fedquery import formats
    from fedquery.federation import connect

    title, sql = SUPPRESSED
    with connect(config, purpose="support") as fed:
        echo("")
        echo("=" * 78)
        echo(title)
        echo("=" * 78)
        echo(sql.strip())
        echo("")
        result = fed.sql(sql)
        echo(formats.render(result.arrow(), "table", max_rows=15).rstrip())
        primary, secondary = result.plan.disclosure.suppressed
        echo(f"(disclosure control: {'; '.join(result.plan.output_rules)})")
        echo(f"({primary} cell(s) from fewer than 10 rows suppressed, {secondary} margin(s); counts rounded to 5)")


def _people(rng: random.Random) -> list[dict[str, object]]:
    people = []
    for n in range(PEOPLE):
        people.append(
            {
                "person_id": f"P{n:06d}",
                "region": rng.choice(REGIONS),
                "children": rng.choices([0, 1, 2, 3, 4], weights=[40, 25, 20, 10, 5])[0],
                "income": Decimal(int(max(0.0, rng.lognormvariate(10.0, 0.6))) * 100) / 100,
            }
        )
    return people


def _write_ppe(root: Path, rng: random.Random) -> None:
    stock_root = root / "ppe_stock"
    trusts = [(f"R{chr(65 + i // 10)}{i % 10}", REGIONS[i % len(REGIONS)]) for i in range(28)]
    start = dt.date(2020, 4, 1)
    for code, region in trusts:
        rows: dict[str, list[object]] = {
            k: [] for k in ("trust_code", "trust_name", "item", "as_of", "stock_units", "daily_use")
        }
        for item in ITEMS:
            daily = rng.randint(20, 400)
            stock = daily * rng.randint(3, 40)
            for day in range(14):
                rows["trust_code"].append(code)
                rows["trust_name"].append(f"{region} Hospitals Trust {code}")
                rows["item"].append(item)
                rows["as_of"].append(start + dt.timedelta(days=day))
                rows["stock_units"].append(stock)
                rows["daily_use"].append(daily)
                stock = max(0, stock - daily + (rng.randint(0, 3) * daily if rng.random() < 0.3 else 0))
        folder = stock_root / f"region={region}"
        folder.mkdir(parents=True, exist_ok=True)
        pacsv.write_csv(pa.table(rows), folder / f"{code}.csv")
    root.mkdir(parents=True, exist_ok=True)
    db = root / "ppe_orders.db"
    if db.exists():
        db.unlink()
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE ppe_orders (order_id INTEGER PRIMARY KEY, trust_code TEXT NOT NULL, item TEXT NOT NULL, "
        "quantity INTEGER NOT NULL, ordered_on DATE NOT NULL, delivered_on DATE)"
    )
    orders = []
    for n in range(1200):
        code, _ = rng.choice(trusts)
        ordered = start + dt.timedelta(days=rng.randint(0, 13))
        delivered = ordered + dt.timedelta(days=rng.randint(1, 9))
        orders.append(
            (n + 1, code, rng.choice(ITEMS), rng.randint(1, 50) * 100, ordered.isoformat(),
             delivered.isoformat() if delivered <= dt.date(2020, 4, 14) else None)
        )  # fmt: skip
    con.executemany("INSERT INTO ppe_orders VALUES (?, ?, ?, ?, ?, ?)", orders)
    con.commit()
    con.close()


def _write_claims(root: Path, people: list[dict[str, object]], rng: random.Random) -> None:
    root.mkdir(parents=True, exist_ok=True)
    cols: dict[str, list[object]] = {
        k: [] for k in ("claim_id", "person_id", "benefit", "region", "start_date", "weekly_amount")
    }
    n = 0
    for person in people:
        low = person["income"] < Decimal(18000)  # type: ignore[operator]
        if rng.random() < (0.55 if low else 0.08):
            n += 1
            cols["claim_id"].append(n)
            cols["person_id"].append(person["person_id"])
            cols["benefit"].append(BENEFITS[0] if rng.random() < 0.75 else rng.choice(BENEFITS[1:]))
            cols["region"].append(person["region"])
            cols["start_date"].append(dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 500)))
            cols["weekly_amount"].append(Decimal(rng.randint(5000, 40000)) / 100)
    schema = pa.schema(
        [("claim_id", pa.int64()), ("person_id", pa.string()), ("benefit", pa.string()), ("region", pa.string()),
         ("start_date", pa.date32()), ("weekly_amount", pa.decimal128(10, 2))]
    )  # fmt: skip
    pq.write_table(pa.table(cols, schema=schema), root / "claims.parquet", row_group_size=1000)


def _write_fsm(root: Path, people: list[dict[str, object]], rng: random.Random) -> None:
    root.mkdir(parents=True, exist_ok=True)
    cols: dict[str, list[object]] = {
        k: [] for k in ("pupil_id", "parent_person_id", "school_urn", "eligible", "eligible_from")
    }
    n = 0
    for person in people:
        for _ in range(int(person["children"])):  # type: ignore[call-overload]
            n += 1
            low = person["income"] < Decimal(16000)  # type: ignore[operator]
            eligible = rng.random() < (0.8 if low else 0.05)
            cols["pupil_id"].append(f"U{n:06d}")
            cols["parent_person_id"].append(person["person_id"])
            cols["school_urn"].append(100000 + rng.randint(0, 400))
            cols["eligible"].append(eligible)
            cols["eligible_from"].append(
                dt.date(2019, 9, 1) + dt.timedelta(days=rng.randint(0, 200)) if eligible else None
            )
    pacsv.write_csv(pa.table(cols), root / "fsm_eligibility.csv")


def _write_income(root: Path, people: list[dict[str, object]], rng: random.Random) -> None:
    import duckdb

    root.mkdir(parents=True, exist_ok=True)
    path = root / "income.duckdb"
    if path.exists():
        path.unlink()
    cols: dict[str, list[object]] = {
        k: [] for k in ("person_id", "tax_year", "region", "employment_income", "self_employed")
    }
    for person in people:
        for year, factor in (("2018-19", Decimal("0.97")), ("2019-20", Decimal(1))):
            cols["person_id"].append(person["person_id"])
            cols["tax_year"].append(year)
            cols["region"].append(person["region"])
            cols["employment_income"].append((person["income"] * factor).quantize(Decimal("0.01")))  # type: ignore[operator]
            cols["self_employed"].append(rng.random() < 0.12)
    table = pa.table(cols).cast(
        pa.schema(
            [("person_id", pa.string()), ("tax_year", pa.string()), ("region", pa.string()),
             ("employment_income", pa.decimal128(12, 2)), ("self_employed", pa.bool_())]
        )
    )  # fmt: skip
    con = duckdb.connect(str(path))
    con.register("src", table)
    con.execute("CREATE TABLE income AS SELECT * FROM src")
    con.close()

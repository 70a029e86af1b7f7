"""Write CDRs into our `cdr` table the way Asterisk 22's cdr_pgsql does.

Written from cdr_pgsql's behaviour, independently of app.database.models.cdr, so a test checks
our table against what Asterisk sends, not against itself:

- when it loads, cdr_pgsql reads the table's columns (name, type, NOT NULL, default) from
  pg_attribute, in column order;
- for every CDR it walks those columns and asks the CDR for a value by the column's name: a CDR
  field (start, answer, billsec, dstchannel…) or a CDR variable the dialplan set
  (`Set(CDR(cc_attempt)=2)`); `calldate` is an alias of `start`. A column with no value (an
  unknown name, an unset variable, an empty field such as `answer` on a call nobody answered)
  is left out of the INSERT, so it gets its default or NULL, unless it is NOT NULL without a
  default, which gets '';
- `start`/`answer`/`end` in a timestamp column are `'%Y-%m-%d %T'` text (in cdr_pgsql.conf's
  `timezone`), in an integer column epoch seconds; `duration`/`billsec` in an integer column
  are whole seconds; any other integer column gets the number the value starts with (0 if
  none); text is a quoted literal (PQescapeStringConn), never truncated: a value longer than
  its column fails the whole INSERT and Asterisk drops that CDR;
- one statement per CDR, every value a literal (no bind parameters), column names quoted.

`data/cdr-rows.csv` is a verbatim copy of ../shared/asterisk-captures/cdr-rows.csv: 39 CDRs of
real SIP calls through the shipped dialplan on Asterisk 22.10.1 (written by cdr_custom, so
empty fields are empty strings and times are '%Y-%m-%d %T').
"""
import csv
from datetime import datetime, timezone
from pathlib import Path

import psycopg

CDR_ROWS_PATH = Path(__file__).resolve().parent / "data" / "cdr-rows.csv"
CDR_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Asterisk's '%Y-%m-%d %T'
TIME_FIELDS = ("start", "answer", "end")

# What cdr_pgsql runs when it loads (its pg_attribute query, for the table in current_schema()).
COLUMNS_QUERY = """
SELECT a.attname, t.typname, a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS adsrc
FROM (((pg_catalog.pg_class c
        INNER JOIN pg_catalog.pg_namespace n
                ON n.oid = c.relnamespace AND c.relname = 'cdr' AND n.nspname = current_schema())
       INNER JOIN pg_catalog.pg_attribute a
               ON (NOT a.attisdropped) AND a.attnum > 0 AND a.attrelid = c.oid)
      INNER JOIN pg_catalog.pg_type t ON t.oid = a.atttypid)
     LEFT OUTER JOIN pg_attrdef d ON a.atthasdef AND d.adrelid = a.attrelid AND d.adnum = a.attnum
ORDER BY n.nspname, c.relname, a.attnum
"""


def read_captured_cdrs() -> list[dict[str, str]]:
    """The 39 captured CDRs, each a dict of the CSV's columns (text, '' when empty)."""
    with CDR_ROWS_PATH.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def table_columns(conn: psycopg.Connection) -> list[tuple[str, str, bool, str | None]]:
    """(name, type name, NOT NULL, default) of each column of `cdr`, as cdr_pgsql reads them."""
    return [tuple(row) for row in conn.execute(COLUMNS_QUERY).fetchall()]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _epoch(text: str) -> int:
    """A CDR time as epoch seconds (the capture's times are in the backend's zone, UTC here)."""
    return int(datetime.strptime(text, CDR_TIME_FORMAT).replace(tzinfo=timezone.utc).timestamp())


def insert_statement(columns, cdr: dict[str, str], variables: dict[str, str] | None = None) -> str:
    """The INSERT cdr_pgsql sends for one CDR: its fields (`cdr`, text as Asterisk formats
    them) and the CDR variables the dialplan set (`variables`)."""
    known = {**cdr, **(variables or {})}
    names, values = [], []
    for name, type_name, not_null, default in columns:
        value = known.get(name)
        if name == "calldate" and not value:
            value = known.get("start")
        if not value:
            if not_null and default is None:
                names.append(f'"{name}"')
                values.append("''")
            continue
        names.append(f'"{name}"')
        if name in TIME_FIELDS or name == "calldate":
            values.append(str(_epoch(value)) if type_name.startswith("int")
                          else _literal(value))  # '%Y-%m-%d %T', already so formatted
        elif type_name.startswith("int"):
            digits = value.strip()
            sign = digits[:1] if digits[:1] in "+-" else ""
            number = ""
            for char in digits[len(sign):]:
                if not char.isdigit():
                    break
                number += char
            values.append(str(int(sign + number)) if number else "0")
        else:
            values.append(_literal(value))
    return f"INSERT INTO cdr ({','.join(names)}) VALUES ({', '.join(values)})"


def write_cdrs(conn: psycopg.Connection, cdrs: list[dict[str, str]],
               variables_of=lambda cdr: {}) -> None:
    """Each CDR in its own statement, in order, as cdr_pgsql writes them as calls end."""
    columns = table_columns(conn)
    for cdr in cdrs:
        conn.execute(insert_statement(columns, cdr, variables_of(cdr)))

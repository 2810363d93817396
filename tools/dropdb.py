"""Drops a database if it exists, closing its connections first."""

import sys

import psycopg2
from psycopg2 import sql


def main(dbname):
    conn = psycopg2.connect(dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(dbname)
            )
        )
    conn.close()


if __name__ == "__main__":
    main(sys.argv[1])

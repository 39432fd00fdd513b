from tests.reference_core.fixtures import (  # noqa: F401  (fixtures)
    core_db_url,
    core_pg_template,
    core_pg_url,
    core_sqlite_template,
    core_sqlite_url,
    http,
    start_core,
)

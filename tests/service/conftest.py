"""Store, service and API tests use the database fixtures of ``tests.fixtures.database``
(registered in the root conftest)."""

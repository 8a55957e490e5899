"""Shared fixtures. The suite runs on PostgreSQL (DATABASE_URL); `make test` sets it up."""

import importlib
import os

import pytest
from django.apps import apps
from django.test import Client

from core.demo import ensure_regional_agency, ensure_users, load_registry

TEST_PASSWORD = "Test-pass-2026!"


def pytest_configure(config):
    # Tasks run in-process in tests even when REDIS_URL is set (make test sets it): a test
    # asserts what a task did, not that a broker delivered it.
    from config.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) and not os.environ.get("PORTAL_ALLOW_SQLITE_TESTS"):
        raise pytest.UsageError(
            "The tests prove the rules on PostgreSQL: set DATABASE_URL=postgres://… (make test does), "
            "or PORTAL_ALLOW_SQLITE_TESTS=1 for a quick run on SQLite."
        )


@pytest.fixture
def registry(db):
    """The three official tables of March 2026, imported as load_demo does."""
    ensure_regional_agency()
    return {r.type: r for r in load_registry()}


@pytest.fixture
def users(registry):
    """One user per role (see core.demo.DEMO_USERS), keyed by user name."""
    return {spec.username: _user(spec.username) for spec, _ in ensure_users(TEST_PASSWORD)}


def _user(username):
    from accounts.models import User

    return User.objects.get(username=username)


@pytest.fixture
def client_for(users):
    """client_for("staff_yinchuan") -> a logged-in django.test.Client."""

    def make(username: str) -> Client:
        c = Client()
        c.force_login(users[username])
        return c

    return make


@pytest.fixture
def institution(registry):
    """Look up an institution by its name: institution("银川市第一人民医院")."""
    from institutions.models import Institution

    return lambda name: Institution.objects.get(name=name)


@pytest.fixture(autouse=True)
def _reference_data(request):
    """The data migrations put in (policy parameters, review reasons, violation measures) is part
    of every real database; a transactional test's flush removes it for the rest of the session,
    so each database test puts it back when it is missing (one query when it is there)."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    if marker is not None and marker.kwargs.get("transaction") or "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    else:
        request.getfixturevalue("db")
    from settlement.models import SettlementPolicy
    from violations.models import Measure

    if SettlementPolicy.objects.exists() and Measure.objects.exists():
        return
    for module in ("settlement.migrations.0002_policy_and_reasons", "violations.migrations.0002_measures"):
        importlib.import_module(module).forward(apps, None)

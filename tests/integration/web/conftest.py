"""Fixtures for the page tests (tests/conftest.py holds `pages`, the shared ones)."""
import pytest


@pytest.fixture
def admin(pages):
    """Pages as the sample admin."""
    pages.login("admin")
    return pages


@pytest.fixture
def seller(pages):
    """Pages as seller1, who owns DIDs 1-3, campaigns 1-2, settings 1-4."""
    pages.login("seller1")
    return pages

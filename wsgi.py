"""Production entry point: `gunicorn wsgi:application` (FLASK_ENV=production).

Like the `flask` command, it reads `.env` beside this file first (variables already set in the
environment win).
"""
from pathlib import Path

from dotenv import load_dotenv

load_dotenv(Path(__file__).resolve().parent / ".env")

from app import create_app  # noqa: E402  (after .env: the configuration reads the environment)

application = create_app()

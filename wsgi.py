"""Production entry point (FLASK_ENV=production):
`gunicorn -c deploy/gunicorn.conf.py wsgi:application` (plain `gunicorn wsgi:application` works
too, with sync workers that slow clients can stall).

Like the `flask` command, it reads `.env` beside this file first (variables already set in the
environment win).
"""
from pathlib import Path

from dotenv import load_dotenv

load_dotenv(Path(__file__).resolve().parent / ".env")

from app import create_app  # noqa: E402  (after .env: the configuration reads the environment)

application = create_app()

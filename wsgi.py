"""Production entry point: `gunicorn wsgi:application` (FLASK_ENV=production)."""
from app import create_app

application = create_app()

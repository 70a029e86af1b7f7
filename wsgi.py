"""Production entry point (FLASK_ENV=production):
`gunicorn -c deploy/gunicorn.conf.py wsgi:application`."""
from app import create_app

application = create_app()

"""Production entry point: ``gunicorn -w 4 -b 0.0.0.0:8000 'web.wsgi:app'`` (scheduler: ``complaintflow scheduler``)."""

from web import create_app

app = create_app()

FLASK_APP=app:create_app

"""Development server without the dev.py wrapper: `python run.py` (after `dev.py run` set up .venv)."""
from app import create_app

app = create_app()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)

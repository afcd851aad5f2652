"""The app: a FastAPI application served by uvicorn (see main.py)."""

"""The web service: candidate and reviewer pages, each with a JSON twin under /api.

``create_app(settings)`` builds the FastAPI app; ``grader serve`` runs it with a worker pool.
"""

from grader.web._app import create_app

__all__ = ["create_app"]

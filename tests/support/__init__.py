"""What the tests share: the service kit (kit.py), fast fakes of the pipeline for the worker's
grading child (fakes.py, web_fakes.py), the web tests' data (web.py), and fixtures (plugin.py,
loaded by tests/conftest.py). pyproject.toml puts tests/ on the path, so it imports as `support`."""

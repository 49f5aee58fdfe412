"""The shared test support (tests/support) as a plugin: its fixtures everywhere, and pytest's
assertion messages inside its helpers too."""

import pytest

pytest.register_assert_rewrite("support")

pytest_plugins = ["support.plugin"]

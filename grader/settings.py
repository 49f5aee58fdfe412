"""Deployment settings: environment variables (GRADER_*) or a .env file; read once, passed down."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from grader.intake import IntakeRules
from sandbox import DEFAULT_BASE_IMAGE, DEFAULT_DEBIAN_MIRROR, Limits

BUILT_IN_ASSIGNMENTS = Path(__file__).resolve().parents[1] / "assignments"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADER_", env_file=".env",
                                      env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(Path("data"), description="submissions, reports and the SQLite store")
    assignments_dir: Path = Field(BUILT_IN_ASSIGNMENTS, description="one folder per assignment")
    runner_image: str = Field("ml-grader-runner:latest", description="tag of the runner image")
    base_image: str = Field(DEFAULT_BASE_IMAGE, description="base of the runner image")
    debian_mirror: str = Field(DEFAULT_DEBIAN_MIRROR, description="for the bootstrapped base")
    limits: Limits = Field(default_factory=Limits,
                           description="ceilings for every candidate container")
    intake: IntakeRules = Field(default_factory=IntakeRules, description="caps on uploaded zips")
    hidden_seeds: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="private seeds per assignment id, e.g. "
                    "GRADER_HIDDEN_SEEDS__RAG_PIPELINE__HIDDEN=7; they replace the assignment's "
                    "published seeds for hidden data")


@functools.cache
def get_settings() -> Settings:
    return Settings()

"""The one typed settings object.

Values come, highest priority first, from: keyword arguments, environment
variables prefixed ``GRIDWATCH_`` (nested groups joined with ``__``, e.g.
``GRIDWATCH_API__PORT``), a TOML settings file (``GRIDWATCH_SETTINGS_FILE``, else
``gridwatch.toml`` in the working directory when present), then the defaults.
Settings are read when the application is built, never at import time.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

SETTINGS_FILE_ENV = "GRIDWATCH_SETTINGS_FILE"
DEFAULT_SETTINGS_FILE = "gridwatch.toml"


class DbSettings(BaseModel):
    """The embedded PostgreSQL cluster, used when no database URL is set."""

    cluster_dir: Path | None = Field(
        default=None,
        description="Folder of the private cluster (default: <data_dir>/pg).",
    )
    name: str = Field(default="gridwatch", description="Database name in the private cluster.")
    run_as: str = Field(
        default="postgres",
        description="Unprivileged system user that runs the cluster when invoked as root.",
    )
    pg_bindir: Path | None = Field(
        default=None, description="Folder of initdb/pg_ctl (default: found automatically)."
    )


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=5000, ge=1, le=65535)
    public_url: str | None = Field(
        default=None, description="URL clients use to reach the API (default: http://host:port)."
    )
    workers: int = Field(default=2, ge=1)


class DashboardSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8501, ge=1, le=65535)


class Settings(BaseSettings):
    """All of gridwatch's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="GRIDWATCH_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: SecretStr | None = Field(
        default=None,
        description="External PostgreSQL/PostGIS URL; when unset the private cluster is used.",
    )
    data_dir: Path = Field(default=Path(".gridwatch"), description="Where gridwatch keeps state.")
    local_timezone: str = Field(
        default="Asia/Shanghai",
        description="Zone assumed for input times that carry none (China Standard Time, UTC+8).",
    )
    db: DbSettings = Field(default_factory=DbSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(SETTINGS_FILE_ENV, DEFAULT_SETTINGS_FILE))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        elif SETTINGS_FILE_ENV in os.environ:
            from gridwatch.errors import ConfigError

            raise ConfigError(f"{SETTINGS_FILE_ENV}={toml_file}: no such file")
        return tuple(sources)

    @cached_property
    def cluster_dir(self) -> Path:
        return (self.db.cluster_dir or self.data_dir / "pg").absolute()

    @property
    def uses_embedded_db(self) -> bool:
        return self.database_url is None


def load_settings(**overrides: object) -> Settings:
    """Build the settings now (environment, file, then ``overrides``)."""
    return Settings(**overrides)  # type: ignore[arg-type]

"""Settings of the web server (`FAMILIAR_WEB__*`). Any of them set turns the server on."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class WebSettings(BaseModel):
    host: str = "127.0.0.1"  # loopback unless the operator says otherwise (a reverse proxy in front)
    port: int = Field(default=8321, ge=0, le=65535)  # 0: any free port (tests)
    # The operator's password (or a long random token). Held only as a salted scrypt hash once
    # the server starts; without it the dashboard refuses every login.
    admin_password: SecretStr | None = None
    public_url: str | None = None  # how people reach the server, for `/memory web` links
    link_ttl_s: float = Field(default=900.0, gt=0)  # a self-service link expires after this
    page_session_s: float = Field(default=900.0, gt=0)  # a self-service page stays open this long
    admin_session_s: float = Field(default=8 * 3600.0, gt=0)
    login_attempts: int = Field(default=5, ge=1)  # failed logins per address within the window
    login_window_s: float = Field(default=300.0, gt=0)
    max_upload_mb: int = Field(default=20, ge=1)

    def base_url(self, bound_port: int) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{bound_port}"

"""The DPO / DSN audit review: admin API, dashboard and user management, on their own listener."""

from gateway.admin.app import create_admin_app
from gateway.admin.auth import ROLE_MATRIX

__all__ = ["ROLE_MATRIX", "create_admin_app"]

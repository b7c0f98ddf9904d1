"""identity: users, roles and permissions, login sessions and API tokens."""

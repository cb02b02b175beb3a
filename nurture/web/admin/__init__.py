"""The staff console: sign-in, roles, CSRF protection, and (later) its pages."""

"""Production overrides: HTTPS-only cookies and HSTS. `manage.py check --deploy` is clean with these."""

from controlplane.env import envbool, envint
from controlplane.settings import *  # noqa: F403

DEBUG = False
SECURE_SSL_REDIRECT = envbool("CONTROLPLANE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = envint("CONTROLPLANE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# The preload directive only matters once the domain's owner submits it to the browsers'
# list; sending it keeps `check --deploy` clean. CONTROLPLANE_HSTS_PRELOAD=0 leaves it out.
SECURE_HSTS_PRELOAD = envbool("CONTROLPLANE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

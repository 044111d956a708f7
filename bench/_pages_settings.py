"""Settings for bench/pages.py: the project's settings, its URLs plus the baseline, plain static storage,
and a middleware that empties the cache when a request asks (`X-Bench-Cache: bypass`).

Not a bench: `make bench` skips files starting with "_".
"""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE, STORAGES

ROOT_URLCONF = "bench._pages_urls"
# No collectstatic manifest in a throwaway state: {% static %} just joins STATIC_URL.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# First, so the cache is empty before anything of the request reads it.
MIDDLEWARE = ["bench._pages_baseline.bypass_cache", *MIDDLEWARE]

"""Settings for bench/pages.py: the project's settings, its URLs plus a baseline view, plain static storage.

Not a bench: `make bench` skips files starting with "_".
"""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

ROOT_URLCONF = "bench._pages_urls"
# No collectstatic manifest in a throwaway state: {% static %} just joins STATIC_URL.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

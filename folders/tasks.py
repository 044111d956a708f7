"""Background jobs for folders. They take ids, refetch, and do only what is left."""

from __future__ import annotations

from typing import Any

from folders import services


def run_import_job(job_id: Any) -> str:
    """Run an import started from the admin (folders.services.import_job_run); a second delivery is a no-op."""
    return services.import_job_run(job_id=job_id)

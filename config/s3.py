"""How this project talks to S3: one set of options for django-storages and for boto3 clients.

Pure module (no Django settings read here): config/settings.py builds the default storage with
storage_options(), uploads.chunkstore and the tests' SeaweedFS plugin make clients with client().
Path-style addresses and SigV4 work with every S3 store we run against (SeaweedFS, MinIO, AWS).
"""

from __future__ import annotations

from typing import Any

ADDRESSING_STYLE = "path"
SIGNATURE_VERSION = "s3v4"


def storage_options(
    *,
    bucket: str,
    endpoint_url: str = "",
    access_key: str = "",
    secret_key: str = "",
    region: str = "",
    custom_domain: str = "",
    cloudfront_key_id: str = "",
    cloudfront_key: str = "",
    url_ttl: int,
) -> dict[str, Any]:
    """OPTIONS for storages.backends.s3.S3Storage; url_ttl: seconds a presigned URL lives."""
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or None,
        "access_key": access_key or None,
        "secret_key": secret_key or None,
        "region_name": region or None,
        "custom_domain": custom_domain or None,
        "cloudfront_key_id": cloudfront_key_id or None,
        "cloudfront_key": cloudfront_key or None,
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": url_ttl,
        # Content-addressed keys: the same name always means the same bytes.
        "file_overwrite": True,
        "addressing_style": ADDRESSING_STYLE,
        "signature_version": SIGNATURE_VERSION,
    }


def client(
    *, endpoint_url: str = "", access_key: str = "", secret_key: str = "", region: str = "", **config: Any
) -> Any:
    """A boto3 S3 client with the same addressing and signing as the storage; config: botocore
    Config options on top (retries, timeouts)."""
    import boto3  # only deployments and tests that use S3 pay for importing boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        region_name=region or None,
        config=Config(signature_version=SIGNATURE_VERSION, s3={"addressing_style": ADDRESSING_STYLE}, **config),
    )

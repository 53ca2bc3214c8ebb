"""AWS set-up problems (an unknown profile, no credentials, no region) as one line saying what to set."""

from __future__ import annotations

import sys


def aws_setup_problem(error: BaseException) -> str | None:
    """What to tell the user about `error` if it is botocore refusing to start, else None. botocore is
    looked up, never imported: a command that did not load it cannot have raised one of its errors."""
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is None or not isinstance(error, botocore.BotoCoreError):
        return None
    if isinstance(error, botocore.ProfileNotFound):
        return f"AWS: {error}: name a profile of ~/.aws/config in AWS_PROFILE (or unset it for the default)"
    if isinstance(error, botocore.NoCredentialsError | botocore.PartialCredentialsError):
        return f"AWS: {error}: run `aws configure`, or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    if isinstance(error, botocore.NoRegionError):
        return f"AWS: {error}: give --region or set AWS_REGION"
    return f"AWS: {error}"

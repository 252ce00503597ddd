"""What can go wrong, and how to tell: every exception is a `DeepsetCloudError`.

Run: python examples/handle_errors.py
Needs API_URL and DEFAULT_WORKSPACE_NAME (see "Configuration"); it uses a wrong API key on purpose.
"""

from deepset_cloud import AuthenticationError, ConfigurationError, DeepsetCloudError, DeepsetCloudFile
from deepset_cloud.sync_client import files

try:
    files.upload_texts(
        files=[DeepsetCloudFile(text="x", name="x.txt")], api_key="not-my-key", show_progress=False
    )
except AuthenticationError as error:  # 401: the same for 1 file or 100,000
    print("wrong key:", error.status_code)
    print(
        "uploaded before the error:",
        error.upload_report.successful_upload_count if error.upload_report else 0,
    )
except ConfigurationError as error:  # no key, no workspace, a bad argument: raised before any request
    print("configuration:", error)
except DeepsetCloudError as error:  # everything else the SDK raises on purpose
    print("failed:", error)

"""Download the files whose metadata match a filter, with each file's metadata beside it.

Run: python examples/download.py ./downloads
Needs API_KEY, API_URL and DEFAULT_WORKSPACE_NAME (see "Configuration").
"""

import sys
from pathlib import Path

from deepset_cloud.sync_client import files

target = Path(sys.argv[1] if len(sys.argv) > 1 else "./downloads")

report = files.download(file_dir=target, odata_filter="lang eq 'en'", include_meta=True, show_progress=False)
print(f"downloaded {len(report.downloaded)} files into {target}")
for failure in report.failed:  # a failed file is reported, not raised
    print("failed:", failure.name, failure.reason)

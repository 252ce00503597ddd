"""Upload a folder and a few texts, then list what is in the workspace (the sync API).

Run: python examples/upload_and_list.py ./corpus
Needs API_KEY, API_URL and DEFAULT_WORKSPACE_NAME (see "Configuration").
"""

import sys
from pathlib import Path

from deepset_cloud import DeepsetCloudFile, WriteMode
from deepset_cloud.sync_client import files

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "./corpus")

# Every file of a supported type in the folder and its subfolders; `a.txt.meta.json` is a.txt's metadata.
report = files.upload(paths=[folder], recursive=True, show_progress=False)
print(
    f"uploaded {report.successful_upload_count} of {report.total_files}, {report.failed_upload_count} failed"
)
for failure in report.failed:
    print("failed:", failure.file_name, failure.exception)
for skipped in report.skipped:
    print("skipped:", skipped.path, skipped.reason)

# Texts from memory, replacing files of the same name.
files.upload_texts(
    files=[DeepsetCloudFile(text="Hello, world.", name="hello.txt", meta={"lang": "en"})],
    write_mode=WriteMode.OVERWRITE,
    show_progress=False,
)

# Listings come page by page; an OData filter selects by metadata.
for page in files.list_files(odata_filter="lang eq 'en'"):
    for file in page:
        print(file.name, file.size, file.meta)

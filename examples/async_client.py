"""The async API: one `AsyncClient` (one connection pool) for many calls, e.g. in a service.

Run: python examples/async_client.py
Needs API_KEY and API_URL (see "Configuration"); the workspace is given to the client.
"""

import asyncio
import os

from deepset_cloud import AsyncClient, DeepsetCloudFile


async def main() -> None:
    workspace = os.environ.get("DEFAULT_WORKSPACE_NAME", "default")
    async with AsyncClient(workspace_name=workspace) as client:
        texts = [DeepsetCloudFile(text=f"Note {index}", name=f"note-{index}.txt") for index in range(30)]
        # More than 20 files go through an upload session; the call returns once they are ingested
        # (blocking=False returns as soon as they are uploaded).
        report = await client.upload_texts(texts, show_progress=False)
        print(f"uploaded {report.successful_upload_count} files in sessions {report.session_ids}")

        for session_id in report.session_ids:
            status = await client.get_upload_session(session_id)
            print(session_id, "ingested:", status.ingestion_status.finished_files)

        names = [file.name async for page in client.list_files(name="note-") for file in page]
        print(f"{len(names)} notes listed")


asyncio.run(main())

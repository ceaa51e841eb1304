"""tuspy against Flick: upload a clip in checksummed chunks, stop part-way, then resume with a new
uploader that asks the server (HEAD) for its offset. Prints {"client":"tuspy","id":…,"resumedFrom":…}."""

import json
import os
import sys

from tusclient import client

endpoint, path = sys.argv[1], sys.argv[2]
size = os.path.getsize(path)
chunk = 96 * 1024
metadata = {"filename": os.path.basename(path), "filetype": "video/mp4"}
tus = client.TusClient(endpoint)

first = tus.uploader(path, chunk_size=chunk, metadata=metadata, upload_checksum=True)
first.upload(stop_at=size // 2)
url = first.url
if not 0 < first.offset < size:
    sys.exit(f"unexpected offset after the interruption: {first.offset}")

# A fresh uploader given only the URL: it must learn the offset from the server, not start over.
second = tus.uploader(path, url=url, chunk_size=chunk, metadata=metadata, upload_checksum=True, retries=3,
                      retry_delay=1)
resumed_from = second.offset
if resumed_from != first.offset:
    sys.exit(f"resumed from {resumed_from}, the server had {first.offset}")
second.upload()
if second.offset != size:
    sys.exit(f"ended at {second.offset} of {size}")
print(json.dumps({"client": "tuspy", "id": url.rstrip("/").split("/")[-1], "resumedFrom": resumed_from}))

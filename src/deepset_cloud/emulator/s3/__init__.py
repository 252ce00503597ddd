"""The emulated S3 bucket: the presigned-POST `endpoint`, its signed `policy`, and the streaming
`multipart` parser (with `multipart_headers`)."""

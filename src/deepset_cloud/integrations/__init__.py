"""Scale-out integrations: the engine-agnostic partition uploader and the Ray Data sink (extra `ray`).

`deepset_cloud.integrations.partition` needs nothing beyond the SDK; `deepset_cloud.integrations.ray`
imports Ray and is only importable where Ray is installed.
"""

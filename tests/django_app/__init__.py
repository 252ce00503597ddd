"""A minimal real Django project whose sync views call the `deepset_cloud.sync_client` facade."""

"""The only aiohttp users on the client side: transport, error mapping, storage posts, endpoints, pagination."""

"""Storage: the plugin's own tables in the host's database, and transactions over them."""

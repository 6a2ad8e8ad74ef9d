"""The plugin's side of the aatena contract: host functions and hook implementations."""

"""The gateway's rules, free of the framework: where a path goes, and who may pass."""

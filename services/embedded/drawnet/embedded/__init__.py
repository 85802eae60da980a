"""The embedded platform: every component as a local process, started and stopped as one."""

"""Facts: a shell command plus a pure parser. All of a host's facts run in one probe."""

"""Output: the console and JSON renderers of one event stream; secrets masked in both."""

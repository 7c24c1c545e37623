"""Reference users of the hub: programs that query Jembatan through the client SDK."""

"""The web face: the JSON API (and, later, pages), thin over ``alliance.services``."""

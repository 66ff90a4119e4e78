"""TLS for the private registry: a site CA on the controller, server certificates."""

"""Controller-side helpers of the private registry: a site CA and server certificates,
bcrypt htpasswd lines, the images of an offline bundle (template filters in `filters`)."""

"""Operating an installation over the years: backups that restore (``backups``), their file
format and encryption (``archive``), what a backup must hold (``inventory``) and the two
databases' own copy tools (``databases``)."""

"""Who may do what: logins, sessions and tokens (``auth``), users (``people``), the access
rules every use case checks (``access``), the organization's settings (``organization``) and
a supervisor's team (``team``)."""

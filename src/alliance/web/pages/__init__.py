"""Server-rendered pages: the clinician's caseload and client view, the client's form, the
team, administration, research exports, reports and the self-check; forms work without
JavaScript."""

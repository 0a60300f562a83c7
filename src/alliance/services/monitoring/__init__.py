"""Watching the record: analysis after each submission (``analysis``), alerts and their states
(``alerting``), risk answers (``risk``), the organization's overview (``overview``), clinicians'
calibration (``calibration``) and the self-check (``learning``). The pure rules live in
:mod:`alliance.feedback`; this package applies them to stored data, with access and audit."""

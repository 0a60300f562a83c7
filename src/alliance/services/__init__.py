"""Use cases. Every public function here checks who may do it and writes an audit event;
the API and the CLI only parse input, call one of these, commit and render."""

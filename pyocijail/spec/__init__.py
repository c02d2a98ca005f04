"""config.json: strict loading, schema validation, and the model."""
